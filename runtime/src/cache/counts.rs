//! Cache statuses and hit/miss counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::shared::SharedCounts;

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
    /// The shared second level's counts, when the stage has one.
    pub shared: Option<SharedCounts>,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

// Counts a request inside `get_or_fill` until it leaves, however it leaves.
pub(super) struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    pub(super) fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
