//! What API keys, usage plans, throttles and quotas cost, and how exactly throttles hold.
//!
//! 0. The admission decision alone, in-process: ns per `admit` without and with a key.
//! 1. The same route (`hello`) without and with a key + usage plan (per-key throttle, quota,
//!    usage metering), loaded by wrk in one run: throughput ratio and CPU µs per request.
//! 2. Throttle accuracy: a route throttled at `RATE` requests/s is offered twice that for
//!    `THROTTLE_SECONDS` (default 10); achieved vs configured rate.
//!
//! Run: `cargo bench --bench traffic` (needs `wrk`; BENCH_SECONDS sets the wrk runs' length).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const KEY: &str = "bench-key-0123456789abcdef";
const RATE: u32 = 500;

const TOML: &str = r#"
[logs]
stdout = false
access_log = true

[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[apis.bench]
type = "http"
[[apis.bench.routes]]
route = "GET /open/{name}"
function = "hello"
[[apis.bench.routes]]
route = "GET /keyed/{name}"
function = "hello"
api_key_required = true
[[apis.bench.routes]]
route = "GET /limited/{name}"
function = "hello"
throttle = { rate_limit = 500, burst_limit = 500 }

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

fn main() {
    support::require_wrk();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(support::serve_toml(TOML));
    runtime.block_on(admission_cost());
    println!(
        "traffic benchmark: {} s per wrk run, wrk -t2",
        support::seconds()
    );
    let header = format!("x-api-key: {KEY}");
    for connections in [16, 64] {
        let open = support::wrk(&format!("http://{addr}/open/bench"), connections, &[]);
        let keyed = support::wrk(
            &format!("http://{addr}/keyed/bench"),
            connections,
            &["-H", &header],
        );
        support::row("portico -> hello, no key", connections, &open, &open);
        support::row(
            "portico -> hello, key + usage plan",
            connections,
            &keyed,
            &open,
        );
    }
    runtime.block_on(throttle_accuracy(addr));
    drop(runtime);
}

/// Times `TrafficControl::admit` alone: the account bucket only, then key lookup, plan
/// throttle, quota and usage metering.
async fn admission_cost() {
    let config: portico_runtime::traffic::TrafficConfig = toml::from_str(
        r#"
        account_throttle = { rate_limit = 1000000000, burst_limit = 1000000000 }
        [[usage_plans]]
        id = "bench"
        stages = [{ api = "a", stage = "s" }]
        throttle = { rate_limit = 1000000000, burst_limit = 1000000000 }
        quota = { limit = 1000000000000, period = "DAY" }
        [[api_keys]]
        name = "bench"
        value = "bench-key-0123456789abcdef"
        usage_plans = ["bench"]
        "#,
    )
    .expect("bench traffic config");
    let clock = portico_runtime::Clock::system();
    let store = Arc::new(portico_runtime::store::MemoryStore::new(clock.clone()));
    let control = portico_runtime::traffic::TrafficControl::new(&config, store, clock)
        .expect("valid traffic config");
    for (label, key) in [("no key", None), ("key + usage plan", Some(KEY))] {
        let n = 200_000u32;
        let started = Instant::now();
        for _ in 0..n {
            let admitted = control.admit("a", "s", "GET /x", key, key.is_some()).await;
            assert!(admitted.is_ok());
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(n);
        println!("admission alone, {label:<17} {ns:>6.0} ns per request");
    }
}

/// Offers `2 × RATE` requests/s to a route throttled at `RATE` and reports what got through.
async fn throttle_accuracy(addr: SocketAddr) {
    let seconds: u64 = std::env::var("THROTTLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = format!("http://{addr}/limited/bench").parse().unwrap();
    let (ok, throttled, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let offered = u64::from(2 * RATE) * seconds;
    let interval = Duration::from_secs(1) / (2 * RATE);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..offered {
        ticks.tick().await;
        let (client, uri) = (client.clone(), uri.clone());
        let (ok, throttled, other) = (ok.clone(), throttled.clone(), other.clone());
        tasks.spawn(async move {
            let counter = match client.get(uri).await.map(|r| r.status().as_u16()) {
                Ok(200) => ok,
                Ok(429) => throttled,
                _ => other,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        });
    }
    let elapsed = started.elapsed().as_secs_f64();
    while tasks.join_next().await.is_some() {}
    let admitted = ok.load(Ordering::Relaxed) as f64;
    // The bucket starts full: its burst (500) is admitted on top of the steady rate.
    let steady = (admitted - f64::from(RATE)) / elapsed;
    println!(
        "throttle accuracy: rate {RATE}/s burst {RATE}, offered {:.0}/s for {elapsed:.1} s: \
         {admitted:.0} admitted, {} throttled, {} other; steady rate {steady:.1}/s = {:+.1}% of configured",
        offered as f64 / elapsed,
        throttled.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
        (steady / f64::from(RATE) - 1.0) * 100.0
    );
}
