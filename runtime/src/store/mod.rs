//! The state behind quotas, usage metering, API keys and workflow executions.
//!
//! [`Store`] is the one interface every mechanism uses for shared state. It is shaped so a
//! durable file or a Redis implementation can honour it exactly: counter updates are atomic
//! check-and-increment operations, never read-modify-write sequences split across calls, and
//! expiry is an absolute instant so replicas agree on it.

pub mod admit;
mod bucket;
pub mod embedded;
mod health;
mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use admit::{AdmitOutcome, AdmitRefusal, AdmitStep};
pub use bucket::TokenDecision;
pub use embedded::{EmbeddedStore, OpenError};
pub use health::StoreHealth;
pub use memory::MemoryStore;

use crate::config::{StoreConfig, StoreKind};
use crate::Clock;

/// Opens the store `config` names; `default` is the kind when the file sets none.
///
/// Never falls back to another kind: a store that cannot open is an error naming its path.
pub fn open(
    config: &StoreConfig,
    default: StoreKind,
    clock: Clock,
) -> Result<Arc<dyn Store>, OpenError> {
    match config.kind.unwrap_or(default) {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::new(clock))),
        StoreKind::Embedded => Ok(Arc::new(EmbeddedStore::open(&config.path, clock)?)),
        // Connecting is async: `StackBuilder::open` calls `redis::open` for this kind.
        StoreKind::Redis => Err(OpenError {
            path: config.path.clone(),
            reason: "a Redis store is connected with store::redis::open".into(),
        }),
    }
}

/// Errors from any [`Store`] implementation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key holds a record where a counter was expected, or the other way round.
    #[error("key `{key}` holds a {found}, not a {expected}")]
    WrongType {
        /// The key that was addressed.
        key: String,
        /// What the operation needed.
        expected: &'static str,
        /// What the key holds.
        found: &'static str,
    },
    /// A counter would pass `u64::MAX`.
    #[error("counter `{0}` overflowed")]
    Overflow(String),
    /// A record could not be encoded or decoded as JSON.
    #[error("record `{key}` is not valid JSON for its type: {source}")]
    Codec {
        /// The key of the record.
        key: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The backend (file, network) failed.
    #[error("store backend failed: {0}")]
    Backend(String),
    /// The backend cannot be reached (e.g. Redis is down); the store is failing closed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// This store does not implement the operation.
    #[error("this store does not support {0}")]
    Unsupported(&'static str),
}

/// The outcome of [`Store::incr_if_below`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterDecision {
    /// The counter was below the limit and now holds this value.
    Incremented(u64),
    /// The counter already holds this value, which is at or above the limit; nothing changed.
    AtLimit(u64),
}

/// Shared state: counters with expiry and small byte records with expiry.
///
/// Expiry instants are absolute wall-clock times read from the injected [`crate::Clock`];
/// an expired key behaves exactly like an absent one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Atomically adds one to the counter at `key` if its current value (0 when absent or
    /// expired) is below `limit`.
    ///
    /// When the counter is created by this call it expires at `expires_at`; a live counter
    /// keeps the expiry it was created with.
    async fn incr_if_below(
        &self,
        key: &str,
        limit: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<CounterDecision, StoreError>;

    /// The counter's current value; 0 when absent or expired.
    async fn get_counter(&self, key: &str) -> Result<u64, StoreError>;

    /// Atomically adds `delta` to the counter at `key` and returns the new value.
    ///
    /// Expiry follows the same rule as [`Store::incr_if_below`].
    async fn add_counter(
        &self,
        key: &str,
        delta: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<u64, StoreError>;

    /// The record at `key`, if present and not expired.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError>;

    /// Stores a record, replacing whatever was at `key` (counter or record).
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError>;

    /// Removes `key` (counter or record); returns whether a live value was removed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Every live record whose key starts with `prefix`, sorted by key. Counters are skipped.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError>;

    /// Atomically takes one token from the bucket at `key`, which refills at `rate_per_sec`
    /// up to `burst` tokens; `now` is the caller's clock reading.
    ///
    /// A bucket is created full on first use and forgotten once it has refilled completely.
    /// Stores without shared buckets answer [`StoreError::Unsupported`].
    async fn take_token(
        &self,
        key: &str,
        rate_per_sec: f64,
        burst: u64,
        now: SystemTime,
    ) -> Result<TokenDecision, StoreError> {
        let _ = (key, rate_per_sec, burst, now);
        Err(StoreError::Unsupported("token buckets"))
    }

    /// Runs an admission's steps in order as one operation: buckets first (an empty one
    /// refuses and stops, so a throttled request consumes no quota), then the quota (at its
    /// limit it refuses and stops, so usage is not counted), then usage.
    ///
    /// The default runs [`admit::admit_in_order`], one call per step; a networked store
    /// overrides it to answer in one round trip. Errors of bucket and quota steps are
    /// returned; a failed watch or usage step is reported in the outcome.
    async fn admit(
        &self,
        steps: &[AdmitStep<'_>],
        now: SystemTime,
    ) -> Result<AdmitOutcome, StoreError> {
        admit::admit_in_order(self, steps, now).await
    }

    /// Whether other processes share this store, so limits must be counted in it rather
    /// than in process memory.
    fn is_shared(&self) -> bool {
        false
    }

    /// Whether keys one multi-key operation addresses must share a Redis Cluster hash slot,
    /// so callers put a `{tag}` in the names of counters used together.
    fn hash_tags(&self) -> bool {
        false
    }

    /// Availability of a networked backend, for logs and metrics; `None` for local stores.
    fn health(&self) -> Option<Arc<StoreHealth>> {
        None
    }

    /// Drops every expired key and returns how many were dropped. Backends that expire keys
    /// by themselves keep this default, which drops nothing.
    async fn purge_expired(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// Whether what is written outlives the process. Executions and queued events are
    /// written only to a durable store: copying them into process memory again gains nothing.
    fn durable(&self) -> bool {
        true
    }

    /// How many keys are held (expired ones not yet purged included), when the backend can
    /// tell without a round trip; `None` otherwise.
    fn len_hint(&self) -> Option<usize> {
        None
    }
}

/// Whole microseconds since the Unix epoch (0 before it), the unit buckets are kept in.
pub(crate) fn epoch_micros(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// JSON helpers available on every [`Store`].
#[async_trait]
pub trait StoreExt: Store {
    /// Reads and decodes a JSON record.
    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StoreError::Codec {
                        key: key.to_owned(),
                        source,
                    })
            }
        }
    }

    /// Encodes and stores a JSON record.
    async fn put_json<T: Serialize + Sync>(
        &self,
        key: &str,
        value: &T,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|source| StoreError::Codec {
            key: key.to_owned(),
            source,
        })?;
        self.put(key, Bytes::from(bytes), expires_at).await
    }
}

impl<S: Store + ?Sized> StoreExt for S {}
