//! [`SharedLevel`]: the opt-in second level of a stage cache, kept in the stack's [`Store`]
//! so replicas sharing a store share cached responses.
//!
//! Keys live under `cache/{api_id}/{stage}/`:
//! - `flush`: a counter bumped by a stage flush; it is folded into every entry key, so a flush
//!   is one increment however many entries the stage holds (old entries are left to expire).
//! - `epoch`: a counter bumped by every flush and per-key invalidation. In-process entries
//!   remember the epoch they were filled under and are re-checked against the store when it
//!   moved, so an invalidation through one replica reaches the others' in-process caches.
//! - `g{flush}/{cache key}`: a [`SharedRecord`] expiring at the entry's TTL end.
//!
//! A store error never fails a request: a failed read is a miss, a failed write is skipped.
//! Errors are counted (`Portico/Cache` `SharedCacheErrors`) and logged once per change
//! between working and failing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use super::key::CacheKey;
use super::record::SharedRecord;
use crate::observe::metrics::{Kind, Metrics, Series};
use crate::store::{Store, StoreError, StoreHealth};

const NAMESPACE: &str = "Portico/Cache";

/// One stage's view of the shared second level.
pub struct SharedLevel {
    api: String,
    stage: String,
    prefix: String,
    bound: OnceLock<Bound>,
    working: AtomicBool,
    hits: AtomicU64,
    errors: AtomicU64,
}

struct Bound {
    store: Arc<dyn Store>,
    health: Option<Arc<StoreHealth>>,
    metrics: Arc<Metrics>,
    hits: Arc<Series>,
    errors: Arc<Series>,
}

/// Counts of the shared level of one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedCounts {
    /// In-process misses answered from the store.
    pub hits: u64,
    /// Store operations that failed (each treated as a miss or skipped).
    pub errors: u64,
}

impl SharedLevel {
    /// The shared level of `stage` of the API `api` (its name) with id `api_id`.
    pub fn new(api: &str, api_id: &str, stage: &str) -> Self {
        SharedLevel {
            api: api.to_owned(),
            stage: stage.to_owned(),
            prefix: format!("cache/{api_id}/{stage}/"),
            bound: OnceLock::new(),
            working: AtomicBool::new(true),
            hits: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// The same level for a stage's canary side: its entries, generation and epoch live
    /// apart from the main side's, so a canary never serves the main deployment's responses
    /// nor the other way round.
    pub fn for_canary(mut self) -> Self {
        self.prefix.push_str("canary/");
        self
    }

    /// Uses `store` and records into `metrics` from now on; later calls are ignored.
    pub fn bind(&self, store: &Arc<dyn Store>, metrics: &Arc<Metrics>) {
        if self.bound.get().is_some() {
            return;
        }
        let dims = || vec![("ApiName", self.api.clone()), ("Stage", self.stage.clone())];
        let _ = self.bound.set(Bound {
            store: store.clone(),
            health: store.health(),
            metrics: metrics.clone(),
            hits: metrics.series(NAMESPACE, "SharedCacheHits", dims(), Kind::Counter),
            errors: metrics.series(NAMESPACE, "SharedCacheErrors", dims(), Kind::Counter),
        });
    }

    /// Hits and errors so far.
    pub fn counts(&self) -> SharedCounts {
        SharedCounts {
            hits: self.hits.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    /// The stage's invalidation epoch; `None` when unbound or the store failed.
    pub(crate) async fn epoch(&self) -> Option<u64> {
        let bound = self.bound.get()?;
        let epoch = bound.store.get_counter(&self.epoch_key()).await;
        self.outcome(bound, "read the invalidation epoch", epoch)
    }

    /// The entry key of `key` in the current flush generation; `None` when unbound or the
    /// store failed.
    pub(crate) async fn entry_key(&self, key: &CacheKey) -> Option<String> {
        let bound = self.bound.get()?;
        let generation = bound.store.get_counter(&self.flush_key()).await;
        let generation = self.outcome(bound, "read the flush generation", generation)?;
        Some(format!("{}g{generation}/{}", self.prefix, key.as_str()))
    }

    /// The live record at `entry_key`, if any. Records that do not decode (another format,
    /// corruption) or are past `now_millis` are misses.
    pub(crate) async fn read(&self, entry_key: &str, now_millis: u64) -> Option<SharedRecord> {
        let bound = self.bound.get()?;
        let bytes = bound.store.get(entry_key).await;
        let bytes = self.outcome(bound, "read an entry", bytes)??;
        let Some(record) = SharedRecord::decode(&bytes) else {
            tracing::debug!(key = entry_key, "shared cache record not readable; a miss");
            return None;
        };
        if record.expires_at_millis <= now_millis {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        bound.metrics.record(&bound.hits, 1);
        Some(record)
    }

    /// Stores `record` at `entry_key` until it expires; skipped when the store fails.
    pub(crate) async fn write(&self, entry_key: &str, record: &SharedRecord) {
        let Some(bound) = self.bound.get() else {
            return;
        };
        let expires_at = UNIX_EPOCH + Duration::from_millis(record.expires_at_millis);
        let put = bound
            .store
            .put(entry_key, record.encode(), Some(expires_at))
            .await;
        self.outcome(bound, "write an entry", put);
    }

    /// Drops `key`'s entry and moves the epoch, so other replicas re-check their copies.
    /// Returns whether the store took both changes.
    pub(crate) async fn invalidate(&self, key: &CacheKey) -> bool {
        let Some(bound) = self.bound.get() else {
            return true;
        };
        let Some(entry_key) = self.entry_key(key).await else {
            return false;
        };
        let deleted = bound.store.delete(&entry_key).await;
        self.outcome(bound, "delete an entry", deleted).is_some() && self.bump_epoch(bound).await
    }

    /// Moves the flush generation (orphaning every entry) and the epoch. Returns whether the
    /// store took both changes; `true` when the level is not bound to a store yet.
    pub(crate) async fn flush(&self) -> bool {
        let Some(bound) = self.bound.get() else {
            return true;
        };
        let bumped = bound.store.add_counter(&self.flush_key(), 1, None).await;
        self.outcome(bound, "move the flush generation", bumped)
            .is_some()
            && self.bump_epoch(bound).await
    }

    async fn bump_epoch(&self, bound: &Bound) -> bool {
        let bumped = bound.store.add_counter(&self.epoch_key(), 1, None).await;
        self.outcome(bound, "move the invalidation epoch", bumped)
            .is_some()
    }

    fn epoch_key(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    fn flush_key(&self) -> String {
        format!("{}flush", self.prefix)
    }

    // Counts a failure, and logs only when the level changes between working and failing.
    fn outcome<T>(&self, bound: &Bound, what: &str, result: Result<T, StoreError>) -> Option<T> {
        // Failing open, a networked store answers counters from process memory while its
        // backend is down; those epochs and generations are not the shared ones.
        let down = bound.health.as_ref().is_some_and(|h| !h.is_available());
        let result = match result {
            Ok(_) if down => Err(StoreError::Unavailable(
                "the store answered locally while its backend is down".into(),
            )),
            other => other,
        };
        match result {
            Ok(value) => {
                if !self.working.load(Ordering::Relaxed)
                    && !self.working.swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(api = %self.api, stage = %self.stage, "shared cache working again");
                }
                Some(value)
            }
            Err(error) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                bound.metrics.record(&bound.errors, 1);
                if self.working.swap(false, Ordering::Relaxed) {
                    tracing::error!(
                        api = %self.api,
                        stage = %self.stage,
                        %error,
                        "shared cache failing: could not {what}; serving from the process and the integration"
                    );
                }
                None
            }
        }
    }
}
