//! [`StageCache::get_or_fill`]: serving a key from the cache, or filling it once for all
//! concurrent misses, with the shared level in between.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use moka::ops::compute::Op;

use super::{Looked, StageCache, Stored};
use crate::cache::counts::{CacheStatus, InFlight};
use crate::cache::key::CacheKey;
use crate::cache::record::SharedRecord;
use crate::cache::response::{weight, CachedResponse, MAX_ITEM_BYTES};
use crate::cache::route::RouteCache;

impl StageCache {
    /// Serves `key` from the cache, or runs `fill` and stores its result if cacheable.
    ///
    /// Concurrent misses for one key run `fill` once; the others wait for it. Entries past
    /// their TTL on our clock count as misses and are replaced. With a shared level, an
    /// in-process miss looks in the store before running `fill` (a record found there is a
    /// hit), a fill is written to the store too, and store failures count as misses.
    pub async fn get_or_fill<F>(
        &self,
        route: &RouteCache,
        key: CacheKey,
        fill: F,
    ) -> (Arc<CachedResponse>, CacheStatus)
    where
        F: Future<Output = CachedResponse>,
    {
        self.get_or_fill_after(route, key, fill, Looked::NotLooked)
            .await
    }

    /// [`StageCache::get_or_fill`] after a [`StageCache::lookup`] of the same key missed:
    /// `looked` is what that lookup saw, so the key is not looked up again.
    pub async fn get_or_fill_after<F>(
        &self,
        route: &RouteCache,
        key: CacheKey,
        fill: F,
        looked: Looked,
    ) -> (Arc<CachedResponse>, CacheStatus)
    where
        F: Future<Output = CachedResponse>,
    {
        if route.ttl.is_zero() {
            return (Arc::new(fill.await), CacheStatus::Bypass);
        }
        let _in_flight = InFlight::enter(&self.in_flight);
        // With a shared level, an in-process entry is good only under the current epoch; when
        // the store cannot say (None), in-process entries are trusted as without one.
        let epoch = match &self.shared {
            Some(shared) => shared.epoch().await,
            None => None,
        };
        let stale = match looked {
            Looked::NotLooked => match self.cache.get(&key).await {
                Some(stored) => {
                    let now = self.clock.now_millis();
                    if stored.expires_at_millis > now && epoch.is_none_or(|e| e == stored.epoch) {
                        return self.count(route, stored.response, CacheStatus::Hit);
                    }
                    true
                }
                None => false,
            },
            Looked::Absent => false,
            Looked::Stale => true,
        };
        if stale {
            self.remove_if_stale(&key, epoch).await;
        }
        let ttl_millis = u64::try_from(route.ttl.as_millis()).unwrap_or(u64::MAX);
        let clock = &self.clock;
        let capacity = self.settings.capacity_bytes;
        let key_len = key.len();
        let shared = self.shared.as_ref().filter(|_| epoch.is_some());
        let shared_key = shared.map(|_| key.clone());
        let from_shared = AtomicBool::new(false);
        let from_shared_ref = &from_shared;
        let init = async move {
            let fits = |response: &CachedResponse| {
                u64::from(weight(key_len, response)) <= capacity
                    && key_len + response.size() <= MAX_ITEM_BYTES
                    && response.is_cacheable()
            };
            let mut entry_key = None;
            if let (Some(shared), Some(key)) = (shared, &shared_key) {
                entry_key = shared.entry_key(key).await;
                if let Some(entry_key) = &entry_key {
                    if let Some(record) = shared.read(entry_key, clock.now_millis()).await {
                        from_shared_ref.store(true, Ordering::Relaxed);
                        return if fits(&record.response) {
                            Ok(Stored {
                                response: Arc::new(record.response),
                                expires_at_millis: record.expires_at_millis,
                                epoch: epoch.unwrap_or(0),
                            })
                        } else {
                            Err(record.response)
                        };
                    }
                }
            }
            let response = fill.await;
            if !fits(&response) {
                return Err(response);
            }
            let expires_at_millis = clock.now_millis().saturating_add(ttl_millis);
            let record = SharedRecord {
                expires_at_millis,
                response,
            };
            if let (Some(shared), Some(entry_key)) = (shared, &entry_key) {
                shared.write(entry_key, &record).await;
            }
            Ok(Stored {
                response: Arc::new(record.response),
                expires_at_millis,
                epoch: epoch.unwrap_or(0),
            })
        };
        let result = self.cache.entry(key).or_try_insert_with(init).await;
        let found_shared = from_shared.load(Ordering::Relaxed);
        match result {
            Ok(entry) => {
                let status = if entry.is_fresh() {
                    // Evict now rather than on moka's next maintenance pass, so the bytes
                    // held stay within capacity after every fill, not only eventually.
                    self.cache.run_pending_tasks().await;
                    if found_shared {
                        CacheStatus::Hit
                    } else {
                        CacheStatus::Miss
                    }
                } else {
                    CacheStatus::Hit
                };
                self.count(route, entry.into_value().response, status)
            }
            Err(response) if found_shared => self.count(route, response, CacheStatus::Hit),
            Err(response) => self.count(route, response, CacheStatus::Uncacheable),
        }
    }

    // Conditional, so a fresh entry another request just stored is kept.
    async fn remove_if_stale(&self, key: &CacheKey, epoch: Option<u64>) {
        let now = self.clock.now_millis();
        self.cache
            .entry_by_ref(key)
            .and_compute_with(|entry| async move {
                match entry {
                    Some(e)
                        if e.value().expires_at_millis <= now
                            || epoch.is_some_and(|epoch| e.value().epoch != epoch) =>
                    {
                        Op::Remove
                    }
                    _ => Op::Nop,
                }
            })
            .await;
    }
}
