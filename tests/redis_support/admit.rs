//! The stores the admission tests compare: a Redis store on a test server, and the memory
//! store as the step-by-step reference beside it.

use std::sync::Arc;
use std::time::Duration;

use portico_runtime::config::OnUnavailable;
use portico_runtime::store::redis::{connect, RedisOptions, RedisStore};
use portico_runtime::store::{MemoryStore, Store};
use portico_runtime::Clock;

use super::RedisServer;

/// A Redis store on `server` failing by `mode`, each operation bounded to 300 ms.
pub async fn redis_store(
    server: &RedisServer,
    mode: OnUnavailable,
    clock: Clock,
) -> Arc<RedisStore> {
    let options = RedisOptions {
        on_unavailable: mode,
        op_timeout: Duration::from_millis(300),
        ..RedisOptions::default()
    };
    Arc::new(connect(&server.url(), options, clock).await.unwrap())
}

/// The memory store and a fail-closed Redis store on `server`, both on `clock`, both with
/// the counter `version` at `version`.
pub async fn reference_pair(
    server: &RedisServer,
    clock: &Clock,
    version: u64,
) -> (MemoryStore, Arc<RedisStore>) {
    let memory = MemoryStore::new(clock.clone());
    let redis = redis_store(server, OnUnavailable::FailClosed, clock.clone()).await;
    for store in [&memory as &dyn Store, &*redis] {
        store.add_counter("version", version, None).await.unwrap();
    }
    (memory, redis)
}
