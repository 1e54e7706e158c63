//! [`RouteCache`]: one route's caching settings, key spec, TTL and counters.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use super::counts::Counters;
use super::key::{CacheKey, CacheKeySpec};
use super::settings::RouteCacheSettings;

/// A route's cache handle, built once when the stack is assembled.
pub struct RouteCache {
    pub(super) settings: RouteCacheSettings,
    pub(super) spec: CacheKeySpec,
    pub(super) ttl: Duration,
    pub(super) counters: Arc<Counters>,
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
