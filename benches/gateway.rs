//! Portico → in-process `hello` vs a bare hyper server answering the same bytes, loaded by wrk
//! at 16 and 64 connections in one run. Prints requests/s, p50/p99, CPU µs per request and
//! the ratios; the same Portico with observability off (`[logs] access_log = false,
//! metrics = false, traces = false`) to show what access logs, metrics and traces cost; and
//! the event floor (`support/event_floor.rs`): bare hyper doing only the work the issue
//! mandates (the v2 event, the `lambda_runtime` context, `hello`, the response mapping), which
//! bounds the ratio any implementation can reach here; and that floor also keeping the logs
//! the issue mandates (START/END/REPORT, the handler's lines, the access-log line; see
//! `support/floor_log.rs`). Set `BENCH_SERVE=1` to print every server's address and serve
//! until killed, for attaching a profiler.
//! Run: `cargo bench --bench gateway` (needs `wrk`; BENCH_SECONDS sets the length).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BODY: &[u8] = br#"{"message":"Hello, bench!"}"#;

const TOML: &str = r#"
[logs]
stdout = false
access_log = true

# Lift the account throttle (AWS's default: 10,000 rps) so the bench measures the gateway.
[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[apis.bench]
type = "http"
[[apis.bench.routes]]
route = "GET /hello/{name}"
function = "hello"
"#;

fn main() {
    support::require_wrk();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hyper_addr, portico_addr, quiet_addr, floor_addr, logged_floor_addr) =
        runtime.block_on(async {
            let quiet = TOML.replace(
                "access_log = true",
                "access_log = false\nmetrics = false\ntraces = false",
            );
            (
                support::bare_hyper(BODY).await,
                support::serve_toml(TOML).await,
                support::serve_toml(&quiet).await,
                support::event_floor::serve().await,
                support::event_floor::serve_logged().await,
            )
        });
    // All answer the same bytes.
    for addr in [portico_addr, floor_addr, logged_floor_addr] {
        let check = std::process::Command::new("curl")
            .args(["-s", &format!("http://{addr}/hello/bench")])
            .output();
        if let Ok(out) = check {
            assert_eq!(
                out.stdout, BODY,
                "{addr} must answer the same body as the baseline"
            );
        }
    }
    if std::env::var("BENCH_SERVE").as_deref() == Ok("1") {
        // For attaching a profiler: one server per line, then serve until killed.
        println!("bare hyper {hyper_addr}\nportico {portico_addr}\nportico quiet {quiet_addr}\nevent floor {floor_addr}\nevent floor + logs {logged_floor_addr}");
        std::thread::park();
    }
    println!(
        "gateway benchmark: {} s per run, wrk -t2",
        support::seconds()
    );
    for connections in [16, 64] {
        if std::env::var("BENCH_ONLY").as_deref() == Ok("portico") {
            let portico = support::wrk(
                &format!("http://{portico_addr}/hello/bench"),
                connections,
                &[],
            );
            support::row(
                "portico -> hello (in-process)",
                connections,
                &portico,
                &portico,
            );
            continue;
        }
        let base = support::wrk(
            &format!("http://{hyper_addr}/hello/bench"),
            connections,
            &[],
        );
        let portico = support::wrk(
            &format!("http://{portico_addr}/hello/bench"),
            connections,
            &[],
        );
        support::row("bare hyper (baseline)", connections, &base, &base);
        support::row(
            "portico -> hello (in-process)",
            connections,
            &portico,
            &base,
        );
        let floor = support::wrk(
            &format!("http://{floor_addr}/hello/bench"),
            connections,
            &[],
        );
        support::row(
            "event floor (hyper+event+hello)",
            connections,
            &floor,
            &base,
        );
        let logged_floor = support::wrk(
            &format!("http://{logged_floor_addr}/hello/bench"),
            connections,
            &[],
        );
        support::row(
            "event floor + mandated logs",
            connections,
            &logged_floor,
            &base,
        );
        if std::env::var("BENCH_OBSERVE").as_deref() != Ok("0") {
            let quiet = support::wrk(
                &format!("http://{quiet_addr}/hello/bench"),
                connections,
                &[],
            );
            support::row("portico, observability off", connections, &quiet, &base);
            println!(
                "  observability on/off: {:.3} req/s ratio, {:+.1} µs CPU/req",
                portico.requests_per_sec / quiet.requests_per_sec.max(1.0),
                portico.cpu_us_per_request - quiet.cpu_us_per_request
            );
        }
    }
    drop(runtime);
}
