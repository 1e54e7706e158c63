//! What the store costs on the hot path: the key + quota route (API key, usage-plan quota,
//! usage metering: two store writes per request) on the memory store and on the embedded
//! (SQLite, group commit) store, loaded by wrk at 16 and 64 connections in one run, with the
//! embedded/memory throughput ratio.
//!
//! Run: `cargo bench --bench store` (needs `wrk`; BENCH_SECONDS sets each run's length).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

const KEY: &str = "bench-key-0123456789abcdef";

const TOML: &str = r#"
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

async fn serve_on(store: Arc<dyn portico_runtime::store::Store>) -> std::net::SocketAddr {
    let mut registry = portico_runtime::Registry::new();
    portico_functions::register_all(&mut registry);
    let config = portico_runtime::Config::from_toml(TOML, "bench.toml", &registry).unwrap();
    let stack = portico_runtime::Stack::builder(config, &registry)
        .store(store)
        .open()
        .await
        .unwrap();
    support::serve_stack(stack).await
}

fn main() {
    support::require_wrk();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("portico-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = portico_runtime::Clock::system();
    let memory = Arc::new(portico_runtime::store::MemoryStore::new(clock.clone()));
    let embedded = Arc::new(portico_runtime::store::EmbeddedStore::open(&dir, clock).unwrap());
    let memory_addr = runtime.block_on(serve_on(memory));
    let embedded_addr = runtime.block_on(serve_on(embedded));
    println!(
        "key + quota route (x-api-key, usage plan quota, usage metering), {}s per run",
        support::seconds()
    );
    let header = format!("x-api-key: {KEY}");
    for connections in [16, 64] {
        let run = |addr| {
            support::wrk(
                &format!("http://{addr}/keyed/bench"),
                connections,
                &["-H", &header],
            )
        };
        let on_memory = run(memory_addr);
        let on_embedded = run(embedded_addr);
        support::row("memory store", connections, &on_memory, &on_memory);
        support::row(
            "embedded store (SQLite, WAL)",
            connections,
            &on_embedded,
            &on_memory,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
