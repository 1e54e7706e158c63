//! The deployment history in the [`Store`]: one record per API at `deployments/{api}` (its
//! deployments, stage pointers and canary settings), a version counter bumped on every change
//! so replicas on a shared store notice it, and a short lease that serializes changes to one
//! API across replicas.

use std::path::Path;
use std::time::Duration;

use super::history::{ApiHistory, History, FILE_NAME};
use crate::store::{CounterDecision, Store, StoreError, StoreExt};
use crate::Clock;

/// The prefix of the per-API records.
pub const RECORD_PREFIX: &str = "deployments/";
/// The counter bumped on every change to any API's record.
pub const VERSION_KEY: &str = "deployments-version";
/// The prefix of the per-API change leases.
const LEASE_PREFIX: &str = "deployments-lease/";
/// How long a lease lives when its holder dies before releasing it.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often, and how long apart, a change waits for another replica's lease.
const LEASE_ATTEMPTS: u32 = 200;
const LEASE_RETRY: Duration = Duration::from_millis(10);

/// The record key of one API's history.
pub fn record_key(api: &str) -> String {
    format!("{RECORD_PREFIX}{api}")
}

/// Reads every API's history from the store; a record that does not decode is an error
/// naming its key, never skipped.
pub async fn load(store: &dyn Store) -> Result<History, String> {
    let mut history = History::default();
    let records = store
        .list(RECORD_PREFIX)
        .await
        .map_err(|e| format!("cannot read the deployment history: {e}"))?;
    for (key, bytes) in records {
        let api: ApiHistory = serde_json::from_slice(&bytes)
            .map_err(|e| format!("record `{key}` is not a deployment history: {e}"))?;
        let name = key[RECORD_PREFIX.len()..].to_owned();
        history.apis.insert(name, api);
    }
    Ok(history)
}

/// Reads one API's history from the store.
pub async fn load_api(store: &dyn Store, api: &str) -> Result<Option<ApiHistory>, StoreError> {
    store.get_json(&record_key(api)).await
}

/// Writes one API's history and, on a shared store, bumps the version counter; answers the
/// counter's new value (`None` when not shared, or when only the bump failed).
pub async fn save_api(
    store: &dyn Store,
    api: &str,
    history: &ApiHistory,
) -> Result<Option<u64>, StoreError> {
    store.put_json(&record_key(api), history, None).await?;
    if !store.is_shared() {
        return Ok(None);
    }
    match store.add_counter(VERSION_KEY, 1, None).await {
        Ok(version) => Ok(Some(version)),
        Err(e) => {
            // The record is written: the change stands, and other replicas see it at the
            // next change's bump.
            tracing::warn!(error = %e, api, "deployment version not bumped");
            Ok(None)
        }
    }
}

/// The version counter (0 before the first change).
pub async fn version(store: &dyn Store) -> Result<u64, StoreError> {
    store.get_counter(VERSION_KEY).await
}

/// When the store holds no deployment records and `{data_dir}/deployments.json` exists,
/// copies the file's history into the store (once: later starts find the records) and
/// answers how many APIs were imported. A file that cannot be read is an error naming it.
pub async fn import_file(store: &dyn Store, data_dir: &Path) -> Result<usize, String> {
    let path = data_dir.join(FILE_NAME);
    if !path.exists() {
        return Ok(0);
    }
    let held = store
        .list(RECORD_PREFIX)
        .await
        .map_err(|e| format!("cannot read the deployment history: {e}"))?;
    if !held.is_empty() {
        return Ok(0);
    }
    let history = History::load(data_dir)?;
    if history.apis.is_empty() {
        return Ok(0);
    }
    for (api, entry) in &history.apis {
        save_api(store, api, entry)
            .await
            .map_err(|e| format!("cannot import {}: {e}", path.display()))?;
    }
    tracing::info!(
        file = %path.display(),
        apis = history.apis.len(),
        "deployment history imported into the store; the file is no longer read"
    );
    Ok(history.apis.len())
}

/// Why a change could not take an API's lease.
#[derive(Debug)]
pub enum LeaseError {
    /// Another replica kept it for the whole wait.
    Busy,
    /// The store failed.
    Store(StoreError),
}

/// Runs `change` holding the API's lease on a shared store (directly otherwise), so two
/// replicas never read-modify-write one API's record at once. The lease expires by itself
/// when its holder dies.
pub async fn with_lease<T, E, F>(
    store: &dyn Store,
    clock: &Clock,
    api: &str,
    change: F,
) -> Result<T, E>
where
    F: std::future::Future<Output = Result<T, E>>,
    E: From<LeaseError>,
{
    if !store.is_shared() {
        return change.await;
    }
    let key = format!("{LEASE_PREFIX}{api}");
    let mut attempts = 0;
    loop {
        let expires = clock.now() + LEASE_TTL;
        let taken = store.incr_if_below(&key, 1, Some(expires)).await;
        match taken.map_err(LeaseError::Store)? {
            CounterDecision::Incremented(_) => break,
            CounterDecision::AtLimit(_) if attempts < LEASE_ATTEMPTS => {
                attempts += 1;
                // On the stack's clock like every other wait: a test on a manual clock moves
                // it past the back-off instead of sleeping through it.
                clock.sleep(LEASE_RETRY).await;
            }
            CounterDecision::AtLimit(_) => return Err(LeaseError::Busy.into()),
        }
    }
    let result = change.await;
    if let Err(e) = store.delete(&key).await {
        // The lease expires by itself; until then changes to this API wait or fail.
        tracing::warn!(error = %e, api, "deployment lease not released");
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use async_trait::async_trait;
    use bytes::Bytes;

    use super::*;
    use crate::store::MemoryStore;

    /// A memory store that says it is shared, so changes take the lease.
    struct Shared(MemoryStore);

    #[async_trait]
    impl Store for Shared {
        async fn incr_if_below(
            &self,
            key: &str,
            limit: u64,
            expires_at: Option<SystemTime>,
        ) -> Result<CounterDecision, StoreError> {
            self.0.incr_if_below(key, limit, expires_at).await
        }
        async fn get_counter(&self, key: &str) -> Result<u64, StoreError> {
            self.0.get_counter(key).await
        }
        async fn add_counter(
            &self,
            key: &str,
            delta: u64,
            expires_at: Option<SystemTime>,
        ) -> Result<u64, StoreError> {
            self.0.add_counter(key, delta, expires_at).await
        }
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
            self.0.get(key).await
        }
        async fn put(
            &self,
            key: &str,
            value: Bytes,
            expires_at: Option<SystemTime>,
        ) -> Result<(), StoreError> {
            self.0.put(key, value, expires_at).await
        }
        async fn delete(&self, key: &str) -> Result<bool, StoreError> {
            self.0.delete(key).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
            self.0.list(prefix).await
        }
        fn is_shared(&self) -> bool {
            true
        }
    }

    #[derive(Debug)]
    struct Failed(LeaseError);

    impl From<LeaseError> for Failed {
        fn from(e: LeaseError) -> Self {
            Failed(e)
        }
    }

    /// A manual clock and a shared store whose `shop` lease someone else holds.
    async fn held_lease() -> (Clock, Arc<Shared>, &'static str) {
        let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let store = Arc::new(Shared(MemoryStore::new(clock.clone())));
        let key = "deployments-lease/shop";
        let expires = Some(clock.now() + Duration::from_secs(60));
        let taken = store.incr_if_below(key, 1, expires).await.unwrap();
        assert!(matches!(taken, CounterDecision::Incremented(_)));
        (clock, store, key)
    }

    /// A change to `shop` under its lease, in a task of its own.
    fn spawn_change(
        store: &Arc<Shared>,
        clock: &Clock,
    ) -> tokio::task::JoinHandle<Result<i32, Failed>> {
        let (store, clock) = (store.clone(), clock.clone());
        tokio::spawn(async move {
            with_lease(&*store, &clock, "shop", async { Ok::<_, Failed>(42) }).await
        })
    }

    /// Yields until something sleeps on `clock` (bounded: a waiter on the wall clock would
    /// never show up).
    async fn until_sleeping(clock: &Clock) {
        let sleeping = async {
            while clock.sleepers() == 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), sleeping)
            .await
            .expect("the lease retry does not wait on the clock");
    }

    #[tokio::test]
    async fn a_busy_lease_is_retried_on_the_clock_not_the_wall_clock() {
        let (clock, store, key) = held_lease().await;
        let change = spawn_change(&store, &clock);
        until_sleeping(&clock).await;
        assert!(!change.is_finished(), "waits while the lease is held");
        store.delete(key).await.unwrap();
        clock.advance(LEASE_RETRY);
        let result = tokio::time::timeout(Duration::from_secs(30), change)
            .await
            .expect("the change did not run")
            .unwrap();
        assert_eq!(result.unwrap(), 42);
        assert_eq!(store.get_counter(key).await.unwrap(), 0, "released");
    }

    #[tokio::test]
    async fn a_lease_held_through_every_retry_is_busy() {
        let (clock, store, key) = held_lease().await;
        let change = spawn_change(&store, &clock);
        let mut retries = 0;
        while !change.is_finished() {
            if clock.sleepers() > 0 {
                clock.advance(LEASE_RETRY);
                retries += 1;
            }
            tokio::task::yield_now().await;
        }
        let result = change.await.unwrap();
        assert!(
            matches!(result, Err(Failed(LeaseError::Busy))),
            "{result:?}"
        );
        assert_eq!(retries, LEASE_ATTEMPTS);
        assert_eq!(
            store.get_counter(key).await.unwrap(),
            1,
            "not taken from its holder"
        );
    }
}
