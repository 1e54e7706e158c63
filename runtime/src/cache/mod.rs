//! API Gateway response caching: a byte-bounded stage cache, cache keys from configured
//! request parameters, per-route TTLs on our [`crate::Clock`], invalidation rules, and
//! hit/miss counts.
//!
//! The pipeline builds one [`StageCache`] per cached stage and one [`RouteCache`] per route
//! at startup, then per request: [`requests_invalidation`] +
//! [`RouteCacheSettings::decide_invalidation`], [`RouteCache::key`], and
//! [`StageCache::get_or_fill`] with the integration call as the fill.

mod counts;
mod error;
mod key;
mod record;
mod response;
mod route;
mod settings;
mod shared;
mod stage;

#[cfg(test)]
mod tests;

pub use counts::{CacheCounts, CacheMetrics, CacheStatus};
pub use error::CacheError;
pub use key::{CacheKey, CacheKeySpec};
pub use record::{SharedRecord, RECORD_VERSION};
pub use response::{CachedResponse, MAX_ITEM_BYTES};
pub use route::RouteCache;
pub use settings::{
    ignored_invalidation_header, requests_invalidation, InvalidationDecision, RouteCacheSettings,
    StageCacheSettings, UnauthorizedStrategy, DEFAULT_CAPACITY_BYTES, DEFAULT_TTL_SECONDS,
    IGNORED_INVALIDATION_WARNING, MAX_TTL_SECONDS,
};
pub use shared::{SharedCounts, SharedLevel};
pub use stage::{Looked, StageCache};
