//! Replicas for the shared-cache tests: stacks serving the cached `shop` API with
//! `shared = true` on one store, and a store whose cache keys can be made to fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use portico_runtime::store::{CounterDecision, MemoryStore, Store, StoreError};
use portico_runtime::{Clock, Registry, Stack};

use super::TOML;
use crate::common::{config, quiet, TestStack};

/// [`TOML`] with the `dev` stage's cache shared through the store.
pub fn shared_toml() -> String {
    let toml = TOML.replace(
        r#"invalidation_keys = ["inv-key", "other-key"] }"#,
        r#"invalidation_keys = ["inv-key", "other-key"], shared = true }"#,
    );
    assert!(toml.contains("shared = true"));
    toml
}

/// A stack serving `toml` on `store` and `clock`, as one replica.
pub async fn replica(
    toml: &str,
    registry: &Registry,
    store: Arc<dyn Store>,
    clock: &Clock,
) -> TestStack {
    let stack = Stack::builder(config(&quiet(toml), registry), registry)
        .clock(clock.clone())
        .store(store)
        .open()
        .await
        .unwrap_or_else(|e| panic!("stack did not start: {e}"));
    TestStack::serve(stack).await
}

/// Every record under `cache/` in `store` (the shared level's entries).
pub async fn shared_entries(store: &dyn Store) -> Vec<(String, Bytes)> {
    store.list("cache/").await.expect("list the store")
}

/// A [`MemoryStore`] whose `cache/` keys fail with [`StoreError::Unavailable`] while
/// `failing` is set; other keys (traffic limits) keep working.
pub struct FlakyStore {
    pub inner: MemoryStore,
    pub failing: AtomicBool,
}

impl FlakyStore {
    pub fn new(clock: Clock) -> Self {
        FlakyStore {
            inner: MemoryStore::new(clock),
            failing: AtomicBool::new(false),
        }
    }

    fn check(&self, key: &str) -> Result<(), StoreError> {
        if key.starts_with("cache/") && self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("test outage".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FlakyStore {
    async fn incr_if_below(
        &self,
        key: &str,
        limit: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<CounterDecision, StoreError> {
        self.check(key)?;
        self.inner.incr_if_below(key, limit, expires_at).await
    }

    async fn get_counter(&self, key: &str) -> Result<u64, StoreError> {
        self.check(key)?;
        self.inner.get_counter(key).await
    }

    async fn add_counter(
        &self,
        key: &str,
        delta: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<u64, StoreError> {
        self.check(key)?;
        self.inner.add_counter(key, delta, expires_at).await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.check(key)?;
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        self.check(key)?;
        self.inner.put(key, value, expires_at).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.check(key)?;
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
        self.check(prefix)?;
        self.inner.list(prefix).await
    }

    fn durable(&self) -> bool {
        false
    }
}
