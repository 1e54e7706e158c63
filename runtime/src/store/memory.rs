//! [`MemoryStore`]: the in-process [`Store`], sharded so concurrent keys rarely contend.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;

use super::bucket::{gcra, TokenDecision};
use super::{epoch_micros, CounterDecision, Store, StoreError};
use crate::Clock;

const SHARDS: usize = 16;

/// A [`Store`] held in memory: one short-lived mutex per shard, never held across an await.
///
/// Expiry is evaluated lazily against the injected [`Clock`]; [`MemoryStore::purge_expired`]
/// reclaims memory from keys nobody reads again.
pub struct MemoryStore {
    clock: Clock,
    shards: Box<[Mutex<HashMap<String, Slot>>]>,
}

struct Slot {
    value: Value,
    expires_at: Option<SystemTime>,
}

enum Value {
    Counter(u64),
    Record(Bytes),
    /// A token bucket's next arrival time in epoch microseconds (see `bucket.rs`).
    Bucket(u64),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Counter(_) => "counter",
            Value::Record(_) => "record",
            Value::Bucket(_) => "token bucket",
        }
    }
}

impl Slot {
    fn live(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl MemoryStore {
    /// An empty store whose expiry follows `clock`.
    pub fn new(clock: Clock) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        MemoryStore { clock, shards }
    }

    /// Drops every expired key; returns how many were dropped.
    pub fn purge_expired(&self) -> usize {
        let now = self.clock.now();
        self.shards
            .iter()
            .map(|shard| {
                let mut map = lock(shard);
                let before = map.len();
                map.retain(|_, slot| slot.live(now));
                before - map.len()
            })
            .sum()
    }

    /// How many keys are held, counting expired ones not yet purged.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Slot>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        lock(&self.shards[hasher.finish() as usize % SHARDS])
    }

    /// Applies `update` to the live counter at `key` (0 when absent or expired) under the lock.
    fn with_counter<T>(
        &self,
        key: &str,
        expires_at: Option<SystemTime>,
        update: impl FnOnce(&mut u64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let now = self.clock.now();
        let mut map = self.shard(key);
        // Look up by `&str` first so the hot path (a live counter) allocates nothing.
        match map.get_mut(key) {
            Some(slot) => {
                if !slot.live(now) {
                    *slot = Slot {
                        value: Value::Counter(0),
                        expires_at,
                    };
                }
                match &mut slot.value {
                    Value::Counter(count) => update(count),
                    other => Err(StoreError::WrongType {
                        key: key.to_owned(),
                        expected: "counter",
                        found: other.kind(),
                    }),
                }
            }
            None => {
                let mut count = 0;
                let out = update(&mut count)?;
                let slot = Slot {
                    value: Value::Counter(count),
                    expires_at,
                };
                map.insert(key.to_owned(), slot);
                Ok(out)
            }
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn incr_if_below(
        &self,
        key: &str,
        limit: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<CounterDecision, StoreError> {
        self.with_counter(key, expires_at, |count| {
            if *count >= limit {
                Ok(CounterDecision::AtLimit(*count))
            } else {
                *count += 1;
                Ok(CounterDecision::Incremented(*count))
            }
        })
    }

    async fn get_counter(&self, key: &str) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let map = self.shard(key);
        match map.get(key) {
            Some(slot) if slot.live(now) => match slot.value {
                Value::Counter(count) => Ok(count),
                ref other => Err(StoreError::WrongType {
                    key: key.to_owned(),
                    expected: "counter",
                    found: other.kind(),
                }),
            },
            _ => Ok(0),
        }
    }

    async fn add_counter(
        &self,
        key: &str,
        delta: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<u64, StoreError> {
        self.with_counter(key, expires_at, |count| {
            *count = count
                .checked_add(delta)
                .ok_or_else(|| StoreError::Overflow(key.to_owned()))?;
            Ok(*count)
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let now = self.clock.now();
        let map = self.shard(key);
        match map.get(key) {
            Some(slot) if slot.live(now) => match &slot.value {
                Value::Record(bytes) => Ok(Some(bytes.clone())),
                other => Err(StoreError::WrongType {
                    key: key.to_owned(),
                    expected: "record",
                    found: other.kind(),
                }),
            },
            _ => Ok(None),
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        let slot = Slot {
            value: Value::Record(value),
            expires_at,
        };
        self.shard(key).insert(key.to_owned(), slot);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Ok(self
            .shard(key)
            .remove(key)
            .is_some_and(|slot| slot.live(now)))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
        let now = self.clock.now();
        let mut found = Vec::new();
        for shard in self.shards.iter() {
            let map = lock(shard);
            for (key, slot) in map.iter() {
                if let (true, true, Value::Record(bytes)) =
                    (key.starts_with(prefix), slot.live(now), &slot.value)
                {
                    found.push((key.clone(), bytes.clone()));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    async fn take_token(
        &self,
        key: &str,
        rate_per_sec: f64,
        burst: u64,
        now: SystemTime,
    ) -> Result<TokenDecision, StoreError> {
        let mut map = self.shard(key);
        let stored = match map.get(key) {
            Some(slot) if slot.live(now) => match slot.value {
                Value::Bucket(tat) => Some(tat),
                ref other => {
                    return Err(StoreError::WrongType {
                        key: key.to_owned(),
                        expected: "token bucket",
                        found: other.kind(),
                    })
                }
            },
            _ => None,
        };
        let (decision, new_tat) = gcra(stored, epoch_micros(now), rate_per_sec, burst)
            .ok_or_else(|| StoreError::Backend(format!("invalid bucket settings for `{key}`")))?;
        if let Some(tat) = new_tat {
            // A bucket whose arrival time has passed is full again: it may be forgotten then.
            let slot = Slot {
                value: Value::Bucket(tat),
                expires_at: Some(UNIX_EPOCH + Duration::from_micros(tat)),
            };
            match map.get_mut(key) {
                Some(existing) => *existing = slot,
                None => {
                    map.insert(key.to_owned(), slot);
                }
            }
        }
        Ok(decision)
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        Ok(MemoryStore::purge_expired(self))
    }

    fn len_hint(&self) -> Option<usize> {
        Some(self.len())
    }

    fn durable(&self) -> bool {
        false
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the map consistent, so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
