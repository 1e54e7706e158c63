//! [`StageCache`]: one stage's byte-bounded response cache with TTLs on our [`Clock`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::future::Cache;

use super::counts::{CacheMetrics, CacheStatus, Counters};
use super::error::CacheError;
use super::key::CacheKey;
use super::response::{weight, CachedResponse};
use super::route::RouteCache;
use super::settings::{RouteCacheSettings, StageCacheSettings, MAX_TTL_SECONDS};
use super::shared::SharedLevel;
use crate::Clock;

/// Hashes keys for the in-process level: foldhash, randomly seeded per cache, instead of
/// moka's default SipHash (measured: hashing a key fell from ~360 to ~150 instructions).
type KeyHasher = foldhash::fast::RandomState;

mod fill;

/// What a [`StageCache::lookup`] that found no fresh entry saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looked {
    /// It did not look (shared level, caching off): the fill looks itself.
    NotLooked,
    /// No entry.
    Absent,
    /// An entry past its TTL, which the fill replaces.
    Stale,
}

#[derive(Clone)]
struct Stored {
    response: Arc<CachedResponse>,
    expires_at_millis: u64,
    /// The shared level's invalidation epoch when this entry was filled (0 without one).
    epoch: u64,
}

/// One stage's response cache.
pub struct StageCache {
    settings: StageCacheSettings,
    cache: Cache<CacheKey, Stored, KeyHasher>,
    clock: Clock,
    stage: Counters,
    routes: Mutex<BTreeMap<String, Arc<Counters>>>,
    in_flight: AtomicUsize,
    shared: Option<SharedLevel>,
}

impl StageCache {
    /// An empty cache holding at most `settings.capacity_bytes`.
    pub fn new(settings: StageCacheSettings, clock: Clock) -> Result<Self, Vec<CacheError>> {
        settings.validate("cache")?;
        let cache = Cache::builder()
            .max_capacity(settings.capacity_bytes)
            .weigher(|key: &CacheKey, stored: &Stored| weight(key.len(), &stored.response))
            // A backstop on moka's own clock; expiry proper follows our Clock.
            .time_to_live(Duration::from_secs(u64::from(MAX_TTL_SECONDS)))
            .build_with_hasher(KeyHasher::default());
        Ok(StageCache {
            settings,
            cache,
            clock,
            stage: Counters::default(),
            routes: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            shared: None,
        })
    }

    /// Backs the cache with a shared second level (see [`SharedLevel`]).
    pub fn with_shared(mut self, shared: SharedLevel) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The shared second level, when the stage has one.
    pub fn shared(&self) -> Option<&SharedLevel> {
        self.shared.as_ref()
    }

    /// A handle for one route's caching, with its own hit/miss counters.
    pub fn route(
        &self,
        route_key: &str,
        settings: RouteCacheSettings,
    ) -> Result<RouteCache, Vec<CacheError>> {
        let spec = settings.validate(&format!("routes.\"{route_key}\".cache"))?;
        let ttl = settings.ttl(&self.settings);
        let counters = self
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(route_key.to_owned())
            .or_default()
            .clone();
        Ok(RouteCache {
            settings,
            spec,
            ttl,
            counters,
        })
    }

    /// The fresh entry for `key`, counted as a hit; otherwise (nothing counted) what the
    /// lookup saw, to hand to [`StageCache::get_or_fill_after`] so a miss is not looked up
    /// twice. Lets a caller answer a hit before it builds the integration future that a
    /// miss needs.
    ///
    /// A stage with a shared level never looks ([`Looked::NotLooked`]): its in-process
    /// entries are good only under the store's current invalidation epoch, which
    /// `get_or_fill` reads. Neither does a route whose caching is off (TTL 0).
    ///
    /// `now_millis` is the request's arrival on the stage's clock, read once per request.
    /// A lookup never waits, so it is not counted in [`StageCache::in_flight`].
    pub async fn lookup(
        &self,
        route: &RouteCache,
        key: &CacheKey,
        now_millis: u64,
    ) -> Result<Arc<CachedResponse>, Looked> {
        if route.ttl.is_zero() || self.shared.is_some() {
            return Err(Looked::NotLooked);
        }
        let Some(stored) = self.cache.get(key).await else {
            return Err(Looked::Absent);
        };
        if stored.expires_at_millis <= now_millis {
            return Err(Looked::Stale);
        }
        Ok(self.count(route, stored.response, CacheStatus::Hit).0)
    }

    /// Drops one entry, from the shared level too when the stage has one.
    pub async fn invalidate(&self, key: &CacheKey) {
        self.cache.invalidate(key).await;
        if let Some(shared) = &self.shared {
            shared.invalidate(key).await;
        }
    }

    /// Drops every in-process entry (API Gateway's "flush stage cache"); see
    /// [`StageCache::flush_shared`] for the shared level.
    pub fn flush(&self) {
        self.cache.invalidate_all();
    }

    /// Flushes the shared level, when the stage has one: every replica misses on the old
    /// entries from now on. Returns whether the store took the flush.
    pub async fn flush_shared(&self) -> bool {
        match &self.shared {
            Some(shared) => shared.flush().await,
            None => true,
        }
    }

    /// Hit and miss counts so far.
    pub fn metrics(&self) -> CacheMetrics {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(route, counters)| (route.clone(), counters.snapshot()))
            .collect();
        CacheMetrics {
            stage: self.stage.snapshot(),
            routes,
            shared: self.shared.as_ref().map(SharedLevel::counts),
        }
    }

    /// Bytes currently charged to the cache (after pending maintenance).
    pub async fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }

    /// Entries currently held (after pending maintenance).
    pub async fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    /// Requests currently being served by [`StageCache::get_or_fill`]: looking up, filling,
    /// or waiting for another request's fill of the same key.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The configured capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.settings.capacity_bytes
    }

    fn count(
        &self,
        route: &RouteCache,
        response: Arc<CachedResponse>,
        status: CacheStatus,
    ) -> (Arc<CachedResponse>, CacheStatus) {
        let bump = |c: &Counters| match status {
            CacheStatus::Hit => {
                c.hits.fetch_add(1, Ordering::Relaxed);
            }
            CacheStatus::Miss | CacheStatus::Uncacheable => {
                c.misses.fetch_add(1, Ordering::Relaxed);
            }
            CacheStatus::Bypass => {}
        };
        bump(&self.stage);
        bump(&route.counters);
        (response, status)
    }
}
