//! Shared bench plumbing: a bare hyper baseline server, wrk runs, and CPU accounting.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

pub mod event_floor;
pub mod floor_log;
pub mod hit_floor;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub requests_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub non_2xx: u64,
    pub cpu_us_per_request: f64,
    /// Requests completed in the run.
    pub requests: f64,
    /// Bytes read per response, as wrk counts them (head and body).
    pub bytes_per_response: f64,
}

/// Seconds per wrk run (`BENCH_SECONDS`, default 5).
pub fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// Exits with a clear message when wrk is not installed.
pub fn require_wrk() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("this benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
}

/// Serves `body` with `content-type: application/json` for every request: the upper bound.
pub async fn bare_hyper(body: &'static [u8]) -> SocketAddr {
    serve_fn(move |_req, _remote| async move {
        let mut res = hyper::Response::new(Full::new(Bytes::from_static(body)));
        res.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/json"),
        );
        res
    })
    .await
}

/// A bare hyper HTTP/1 server on 127.0.0.1:0 answering every request with `answer` (given
/// the request and the caller's address): the baseline and the floors share it.
pub async fn serve_fn<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(hyper::Request<hyper::body::Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, remote)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let answered = answer(req, remote);
                    async move { Ok::<_, std::convert::Infallible>(answered.await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

/// Runs wrk against `url` and reads its figures, with this process's CPU time per request.
pub fn wrk(url: &str, connections: u32, extra: &[&str]) -> Measured {
    let cpu_before = process_cpu();
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", seconds()),
            "--latency",
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("wrk runs");
    let cpu = process_cpu() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    let requests_per_sec = find_after(&text, "Requests/sec:").unwrap_or(0.0);
    let total_requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    let non_2xx = find_after(&text, "Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let bytes_read = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split(',').nth(1))
        .map_or(0.0, |b| size_in_bytes(b.trim().trim_end_matches(" read")));
    Measured {
        requests_per_sec,
        p50_us: latency(&text, "50%"),
        p99_us: latency(&text, "99%"),
        non_2xx,
        cpu_us_per_request: if total_requests > 0.0 {
            cpu.as_secs_f64() * 1e6 / total_requests
        } else {
            0.0
        },
        requests: total_requests,
        bytes_per_response: if total_requests > 0.0 {
            bytes_read / total_requests
        } else {
            0.0
        },
    }
}

/// wrk's `1.74MB` as bytes (binary units, as wrk prints them).
fn size_in_bytes(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let num: f64 = text[..split].parse().unwrap_or(0.0);
    num * match &text[split..] {
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    }
}

fn find_after(text: &str, label: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn latency(text: &str, pct: &str) -> f64 {
    let Some(value) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(pct))
        .map(str::trim)
    else {
        return 0.0;
    };
    let (num, unit) = value.split_at(
        value
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(value.len()),
    );
    let num: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "us" => num,
        "ms" => num * 1e3,
        "s" => num * 1e6,
        _ => num,
    }
}

/// User + system CPU time of this process so far.
pub fn process_cpu() -> Duration {
    cpu_of("self")
}

/// User + system CPU time so far of the process `pid` (a number, or `self`); zero once it
/// has gone.
pub fn cpu_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // Linux reports in clock ticks of 1/100 s on every platform this runs on.
    Duration::from_millis(ticks * 10)
}

/// Prints one row of a results table.
pub fn row(name: &str, connections: u32, m: &Measured, baseline: &Measured) {
    println!(
        "{name:<34} c={connections:<3} {:>10.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  {:>6.1} µs CPU/req  ratio {:>5.2}  p99 +{:>6.0} µs{}",
        m.requests_per_sec,
        m.p50_us,
        m.p99_us,
        m.cpu_us_per_request,
        m.requests_per_sec / baseline.requests_per_sec.max(1.0),
        (m.p99_us - baseline.p99_us).max(0.0),
        if m.non_2xx > 0 { format!("  ({} non-2xx!)", m.non_2xx) } else { String::new() }
    );
}

/// Serves `stack` on 127.0.0.1:0 for the rest of the run and returns its address.
pub async fn serve_stack(stack: portico_runtime::Stack) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(portico_runtime::serve(
        stack,
        listener,
        std::future::pending(),
    ));
    addr
}

/// Builds a stack from `toml` with the shipped functions and serves it on 127.0.0.1:0.
pub async fn serve_toml(toml: &str) -> SocketAddr {
    let mut registry = portico_runtime::Registry::new();
    portico_functions::register_all(&mut registry);
    let config =
        portico_runtime::Config::from_toml(toml, "bench.toml", &registry).expect("bench config");
    serve_stack(portico_runtime::Stack::builder(config, &registry).build()).await
}

/// The API key the keyed route's bench config declares.
pub const BENCH_KEY: &str = "bench-key-0123456789abcdef";

/// A route needing an API key, with a usage plan whose throttle and quota are checked (and
/// usage metered) on every request, all lifted out of reach.
const KEYED_ROUTE_TOML: &str = r#"
[logs]
stdout = false
access_log = false

[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[apis.bench]
type = "http"
[[apis.bench.routes]]
route = "GET /keyed/{name}"
function = "hello"
api_key_required = true

[[usage_plans]]
id = "bench"
stages = [{ api = "bench", stage = "$default" }]
throttle = { rate_limit = 1000000000, burst_limit = 1000000000 }
quota = { limit = 1000000000000, period = "DAY" }

[[api_keys]]
name = "bench"
value = "bench-key-0123456789abcdef"
usage_plans = ["bench"]
"#;

/// Serves the keyed route on `store`: what the store benches compare.
pub async fn serve_keyed_route(
    store: std::sync::Arc<dyn portico_runtime::store::Store>,
) -> SocketAddr {
    let mut registry = portico_runtime::Registry::new();
    portico_functions::register_all(&mut registry);
    let config =
        portico_runtime::Config::from_toml(KEYED_ROUTE_TOML, "bench.toml", &registry).unwrap();
    let stack = portico_runtime::Stack::builder(config, &registry)
        .store(store)
        .open()
        .await
        .unwrap();
    serve_stack(stack).await
}

/// The store benches' loop: loads the keyed route served at each of `stores` (name,
/// address; the first is the baseline) with wrk at each connection count, one store after
/// the other, and prints a row per store with its ratio to the baseline.
pub fn compare_keyed_stores(stores: &[(&str, SocketAddr)], connections: &[u32]) {
    let header = format!("x-api-key: {BENCH_KEY}");
    for &connections in connections {
        let measured: Vec<Measured> = stores
            .iter()
            .map(|(_, addr)| {
                wrk(
                    &format!("http://{addr}/keyed/bench"),
                    connections,
                    &["-H", &header],
                )
            })
            .collect();
        for ((name, _), m) in stores.iter().zip(&measured) {
            row(name, connections, m, &measured[0]);
        }
    }
}
