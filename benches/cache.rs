//! A cache hit through Portico vs a bare hyper server answering the same bytes vs the same
//! route with caching off, and a hit on a stage whose cache is shared through the (memory)
//! store, which reads the invalidation epoch from the store per request; and the hit floor
//! (`support/hit_floor.rs`): bare hyper doing only a moka lookup per request, which bounds the
//! ratio any implementation can reach here, and the same floor also keeping the access-log line
//! and hit count issue 6 mandates (`support/floor_log.rs`). Loaded by wrk in one run. Prints requests/s,
//! p50/p99, CPU µs per request and the ratios. Set `BENCH_SERVE=1` to print every server's
//! address and serve until killed, for attaching a profiler. Run: `cargo bench --bench cache` (needs `wrk`; BENCH_SECONDS sets
//! the length of each run).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use portico_runtime::{Config, LambdaEvent, Registry, Stack};

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
type = "rest"
[apis.bench.stages.dev]
cache = { capacity_bytes = 500000000, ttl = "3600s" }
[apis.bench.stages.shared]
cache = { capacity_bytes = 500000000, ttl = "3600s", shared = true }

[[apis.bench.routes]]
route = "GET /cached/{name}"
function = "hello_rest"

[[apis.bench.routes]]
route = "GET /uncached/{name}"
function = "hello_rest"
cache = { enabled = false }
"#;

/// `hello` for a REST API: a typed v1 proxy event in, a v1 proxy response out.
async fn hello_rest(
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, std::convert::Infallible> {
    let name = event
        .payload
        .path_parameters
        .get("name")
        .map(String::as_str)
        .unwrap_or("world");
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response.headers.insert(
        "content-type",
        aws_lambda_events::http::HeaderValue::from_static("application/json"),
    );
    response.body = Some(Body::Text(format!("{{\"message\":\"Hello, {name}!\"}}")));
    Ok(response)
}

/// Mean CPU time of `Stack::handle` for `path`, without sockets.
async fn in_process(stack: &Stack, path: &str) -> f64 {
    let remote = "127.0.0.1:40000".parse().unwrap();
    let request = || {
        http::Request::builder()
            .uri(path)
            .header("host", "127.0.0.1:3000")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    };
    for _ in 0..10_000 {
        let _ = stack.handle(request(), remote).await;
    }
    let iterations = 100_000;
    // CPU time, not wall time: the machine is shared, and CPU per request is steadier.
    let started = support::process_cpu();
    for _ in 0..iterations {
        let response = stack.handle(request(), remote).await;
        assert_eq!(response.status(), 200);
    }
    (support::process_cpu() - started).as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    support::require_wrk();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hyper_addr, portico_addr, floor_addr, logged_floor_addr, stack) =
        runtime.block_on(async {
            let mut registry = Registry::new();
            registry.register_fn("hello_rest", hello_rest);
            let config = Config::from_toml(TOML, "bench.toml", &registry).expect("bench config");
            let stack = Stack::builder(config, &registry).build();
            let portico_addr = support::serve_stack(stack.clone()).await;
            (
                support::bare_hyper(BODY).await,
                portico_addr,
                support::hit_floor::serve(BODY).await,
                support::hit_floor::serve_logged(BODY).await,
                stack,
            )
        });
    // The cached and the uncached route answer the baseline's bytes.
    for path in ["cached", "uncached"] {
        let out = std::process::Command::new("curl")
            .args(["-s", &format!("http://{portico_addr}/dev/{path}/bench")])
            .output();
        if let Ok(out) = out {
            assert_eq!(
                out.stdout, BODY,
                "/dev/{path}/bench must answer the baseline's body"
            );
        }
    }
    if std::env::var("BENCH_SERVE").as_deref() == Ok("1") {
        // For attaching a profiler: one server per line, then serve until killed.
        println!("bare hyper {hyper_addr}\nportico {portico_addr}\nhit floor {floor_addr}\nhit floor + logs {logged_floor_addr}");
        std::thread::park();
    }
    for path in [
        "/dev/cached/bench",
        "/dev/uncached/bench",
        "/shared/cached/bench",
    ] {
        let per_request = runtime.block_on(in_process(&stack, path));
        println!("in-process {path:<22} {per_request:>6.2} µs CPU per request (no sockets)");
    }
    println!("cache benchmark: {} s per run, wrk -t2", support::seconds());
    let connections = 16;
    if std::env::var("BENCH_ONLY").as_deref() == Ok("hit") {
        // For profiling: only the cache-hit load.
        let hit = support::wrk(
            &format!("http://{portico_addr}/dev/cached/bench"),
            connections,
            &[],
        );
        support::row("portico cache hit", connections, &hit, &hit);
        return;
    }
    let base = support::wrk(
        &format!("http://{hyper_addr}/dev/cached/bench"),
        connections,
        &[],
    );
    let hit = support::wrk(
        &format!("http://{portico_addr}/dev/cached/bench"),
        connections,
        &[],
    );
    let floor = support::wrk(
        &format!("http://{floor_addr}/dev/cached/bench"),
        connections,
        &[],
    );
    let logged_floor = support::wrk(
        &format!("http://{logged_floor_addr}/dev/cached/bench"),
        connections,
        &[],
    );
    let off = support::wrk(
        &format!("http://{portico_addr}/dev/uncached/bench"),
        connections,
        &[],
    );
    let shared = support::wrk(
        &format!("http://{portico_addr}/shared/cached/bench"),
        connections,
        &[],
    );
    support::row("bare hyper (baseline)", connections, &base, &base);
    support::row("portico cache hit", connections, &hit, &base);
    support::row("hit floor (hyper + moka)", connections, &floor, &base);
    support::row(
        "hit floor + mandated logs",
        connections,
        &logged_floor,
        &base,
    );
    support::row(
        "portico, caching off (-> function)",
        connections,
        &off,
        &base,
    );
    support::row(
        "portico cache hit, shared (memory)",
        connections,
        &shared,
        &base,
    );
    println!(
        "cache hit vs caching off: {:.2}x requests/s",
        hit.requests_per_sec / off.requests_per_sec.max(1.0)
    );
    drop(runtime);
}
