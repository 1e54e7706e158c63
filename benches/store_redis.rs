//! The key + quota route (API key, account and usage-plan throttles, quota, usage metering)
//! on the memory, embedded (SQLite) and Redis stores — Redis shared the way replicas share
//! it — loaded by wrk at 64 connections in one run, with each store's ratio to memory (the
//! goal: Redis ≥ 0.6).
//!
//! Run: `cargo bench --bench store_redis` (needs `wrk` and `redis-server`; BENCH_SECONDS sets
//! each run's length).
//!
//! On a loaded machine prefer instruction counts: run `redis-server` and the release
//! `portico serve` (the same route, `[store] kind = "redis"`) each under `valgrind
//! --tool=callgrind --dump-instr=no`, warm up with `wrk -t1 -cN -d10s`, zero both with
//! `callgrind_control -z`, load again for 10 s, dump with `callgrind_control -d` and divide
//! each `totals:` by wrk's request count. Keep N at 16 or below: under valgrind Redis answers
//! past the 1 s operation timeout at c=64 and requests fail closed. Batching shows in
//! `INFO commandstats`: fewer `evalsha` calls than requests.

#[path = "../tests/redis_support/mod.rs"]
mod redis_support;
mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use portico_runtime::store::redis::{connect, RedisOptions};
use portico_runtime::store::{EmbeddedStore, MemoryStore, Store};

fn main() {
    support::require_wrk();
    let Some(server) = redis_support::RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = portico_runtime::Clock::system();
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new(clock.clone()));
    let dir = std::env::temp_dir().join(format!("portico-bench-stores-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let embedded: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir, clock.clone()).unwrap());
    let redis: Arc<dyn Store> = Arc::new(
        runtime
            .block_on(connect(&server.url(), RedisOptions::default(), clock))
            .unwrap(),
    );
    let memory_addr = runtime.block_on(support::serve_keyed_route(memory));
    let embedded_addr = runtime.block_on(support::serve_keyed_route(embedded));
    let redis_addr = runtime.block_on(support::serve_keyed_route(redis));
    println!(
        "key + quota route (x-api-key, shared throttles, usage plan quota, usage metering), {}s per run",
        support::seconds()
    );
    support::compare_keyed_stores(
        &[
            ("memory store", memory_addr),
            ("embedded store (SQLite, WAL)", embedded_addr),
            ("redis store (one local redis-server)", redis_addr),
        ],
        &[64],
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
