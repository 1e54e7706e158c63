//! The gateway pipeline in-process, without sockets: what one request costs Portico itself
//! (routing, event, invocation, logs, response mapping), against calling the handler directly.
//! Run: `cargo bench --bench pipeline`.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::Bytes;
use http_body_util::Full;
use portico_runtime::{Config, Registry, Stack};

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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    let config = Config::from_toml(TOML, "bench.toml", &registry).expect("bench config");
    let stack = Stack::builder(config, &registry).build();
    let remote = "127.0.0.1:40000".parse().unwrap();
    let iterations: u32 = std::env::var("ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    runtime.block_on(async {
        let request = || {
            http::Request::builder()
                .uri("/hello/bench")
                .header("host", "127.0.0.1:3000")
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        for _ in 0..10_000 {
            let _ = stack.handle(request(), remote).await;
        }
        let started = Instant::now();
        for _ in 0..iterations {
            let response = stack.handle(request(), remote).await;
            assert_eq!(response.status(), 200);
        }
        let per_request = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
        println!("pipeline: {per_request:.2} µs per request through the gateway ({iterations} requests, one thread)");
    });
}
