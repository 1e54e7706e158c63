//! [`StageCache`]: one stage's byte-bounded response cache with TTLs on our [`Clock`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, Method};
use moka::future::Cache;
use moka::ops::compute::Op;

use super::error::CacheError;
use super::key::{CacheKey, CacheKeySpec};
use super::response::{weight, CachedResponse, MAX_ITEM_BYTES};
use super::settings::{RouteCacheSettings, StageCacheSettings, MAX_TTL_SECONDS};
use crate::Clock;

/// How a response was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache (including requests that waited for a concurrent fill).
    Hit,
    /// Fetched by this request and stored.
    Miss,
    /// Fetched by this request and not stored (not 2xx, or over 1 MB).
    Uncacheable,
    /// Caching is off for this request (TTL 0).
    Bypass,
}

/// Hit and miss counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Requests served from the cache.
    pub hits: u64,
    /// Requests that went to the integration while caching was on.
    pub misses: u64,
}

/// Hit and miss counts of a stage and of each of its routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheMetrics {
    /// The whole stage.
    pub stage: CacheCounts,
    /// Per route key.
    pub routes: BTreeMap<String, CacheCounts>,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone)]
struct Stored {
    response: Arc<CachedResponse>,
    expires_at_millis: u64,
}

/// A route's cache handle, built once when the stack is assembled.
pub struct RouteCache {
    settings: RouteCacheSettings,
    spec: CacheKeySpec,
    ttl: Duration,
    counters: Arc<Counters>,
}

impl RouteCache {
    /// The route's settings.
    pub fn settings(&self) -> &RouteCacheSettings {
        &self.settings
    }

    /// Whether responses to `method` are cached on this route.
    pub fn caches(&self, method: &Method) -> bool {
        !self.ttl.is_zero() && self.settings.caches_method(method)
    }

    /// Which request parameters split this route's entries.
    pub fn key_spec(&self) -> &CacheKeySpec {
        &self.spec
    }

    /// The route's TTL (zero: caching off).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cache key for a request (see [`CacheKeySpec::key`]).
    pub fn key(
        &self,
        method: &Method,
        resource_path: &str,
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        headers: &HeaderMap,
    ) -> CacheKey {
        self.spec
            .key(method, resource_path, path_params, query, headers)
    }
}

/// One stage's response cache.
pub struct StageCache {
    settings: StageCacheSettings,
    cache: Cache<CacheKey, Stored>,
    clock: Clock,
    stage: Counters,
    routes: Mutex<BTreeMap<String, Arc<Counters>>>,
    in_flight: AtomicUsize,
}

// Counts a request inside `get_or_fill` until it leaves, however it leaves.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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
            .build();
        Ok(StageCache {
            settings,
            cache,
            clock,
            stage: Counters::default(),
            routes: Mutex::default(),
            in_flight: AtomicUsize::new(0),
        })
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

    /// The fresh entry for `key`, counted as a hit; `None` (and nothing counted) when there
    /// is none or caching is off for the route. Lets a caller answer a hit before it builds
    /// the integration future that [`StageCache::get_or_fill`] would need for a miss.
    pub async fn lookup(&self, route: &RouteCache, key: &CacheKey) -> Option<Arc<CachedResponse>> {
        if route.ttl.is_zero() {
            return None;
        }
        let _in_flight = InFlight::enter(&self.in_flight);
        let stored = self.cache.get(key).await?;
        if stored.expires_at_millis <= self.clock.now_millis() {
            return None;
        }
        Some(self.count(route, stored.response, CacheStatus::Hit).0)
    }

    /// Serves `key` from the cache, or runs `fill` and stores its result if cacheable.
    ///
    /// Concurrent misses for one key run `fill` once; the others wait for it. Entries past
    /// their TTL on our clock count as misses and are replaced.
    pub async fn get_or_fill<F>(
        &self,
        route: &RouteCache,
        key: CacheKey,
        fill: F,
    ) -> (Arc<CachedResponse>, CacheStatus)
    where
        F: Future<Output = CachedResponse>,
    {
        if route.ttl.is_zero() {
            return (Arc::new(fill.await), CacheStatus::Bypass);
        }
        let _in_flight = InFlight::enter(&self.in_flight);
        let now = self.clock.now_millis();
        if let Some(stored) = self.cache.get(&key).await {
            if stored.expires_at_millis > now {
                return self.count(route, stored.response, CacheStatus::Hit);
            }
            self.remove_if_expired(&key).await;
        }
        let ttl_millis = u64::try_from(route.ttl.as_millis()).unwrap_or(u64::MAX);
        let clock = &self.clock;
        let capacity = self.settings.capacity_bytes;
        let key_len = key.len();
        let init = async move {
            let response = fill.await;
            let fits = u64::from(weight(key_len, &response)) <= capacity
                && key_len + response.size() <= MAX_ITEM_BYTES;
            if response.is_cacheable() && fits {
                Ok(Stored {
                    response: Arc::new(response),
                    expires_at_millis: clock.now_millis().saturating_add(ttl_millis),
                })
            } else {
                Err(response)
            }
        };
        match self.cache.entry(key).or_try_insert_with(init).await {
            Ok(entry) => {
                let status = if entry.is_fresh() {
                    // Evict now rather than on moka's next maintenance pass, so the bytes
                    // held stay within capacity after every fill, not only eventually.
                    self.cache.run_pending_tasks().await;
                    CacheStatus::Miss
                } else {
                    CacheStatus::Hit
                };
                self.count(route, entry.into_value().response, status)
            }
            Err(response) => self.count(route, response, CacheStatus::Uncacheable),
        }
    }

    /// Drops one entry.
    pub async fn invalidate(&self, key: &CacheKey) {
        self.cache.invalidate(key).await;
    }

    /// Drops every entry (API Gateway's "flush stage cache").
    pub fn flush(&self) {
        self.cache.invalidate_all();
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

    // Conditional, so a fresh entry another request just stored is kept.
    async fn remove_if_expired(&self, key: &CacheKey) {
        let now = self.clock.now_millis();
        self.cache
            .entry_by_ref(key)
            .and_compute_with(|entry| async move {
                match entry {
                    Some(e) if e.value().expires_at_millis <= now => Op::Remove,
                    _ => Op::Nop,
                }
            })
            .await;
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
