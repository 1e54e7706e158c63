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
    let memory_addr = runtime.block_on(support::serve_keyed_route(memory));
    let embedded_addr = runtime.block_on(support::serve_keyed_route(embedded));
    println!(
        "key + quota route (x-api-key, usage plan quota, usage metering), {}s per run",
        support::seconds()
    );
    support::compare_keyed_stores(
        &[
            ("memory store", memory_addr),
            ("embedded store (SQLite, WAL)", embedded_addr),
        ],
        &[16, 64],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
