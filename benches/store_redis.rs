//! The key + quota route (API key, account and usage-plan throttles, quota, usage metering)
//! on the memory store and on a Redis store shared the way replicas share it, loaded by wrk
//! at 64 connections in one run, with the Redis/memory throughput ratio (goal ≥ 0.6).
//!
//! Run: `cargo bench --bench store_redis` (needs `wrk` and `redis-server`; BENCH_SECONDS sets
//! each run's length).

#[path = "../tests/redis_support/mod.rs"]
mod redis_support;
mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use portico_runtime::store::redis::{connect, RedisOptions};
use portico_runtime::store::{MemoryStore, Store};

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
    let redis: Arc<dyn Store> = Arc::new(
        runtime
            .block_on(connect(&server.url(), RedisOptions::default(), clock))
            .unwrap(),
    );
    let memory_addr = runtime.block_on(support::serve_keyed_route(memory));
    let redis_addr = runtime.block_on(support::serve_keyed_route(redis));
    println!(
        "key + quota route (x-api-key, shared throttles, usage plan quota, usage metering), {}s per run",
        support::seconds()
    );
    support::compare_keyed_stores(
        &[
            ("memory store", memory_addr),
            ("redis store (one local redis-server)", redis_addr),
        ],
        &[64],
    );
    drop(server);
}
