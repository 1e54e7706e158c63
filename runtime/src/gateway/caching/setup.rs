//! Building the stage caches once per generation: one [`MountCache`] per stage with a
//! `cache` table, each route's settings, and the keys fixed at build time.

use std::sync::Arc;

use http::{HeaderMap, Method};

use crate::cache::{CacheKey, CacheMetrics, RouteCache, SharedLevel, StageCache};
use crate::config::Api;
use crate::gateway::router::Router;
use crate::Clock;

/// One stage's cache with its routes' settings.
pub struct MountCache {
    pub(super) stage: Arc<StageCache>,
    /// By route index; `None` where the route's settings failed (never, once validated).
    pub(super) routes: Vec<Option<RouteCache>>,
    /// By route index: the key every request gets, for a route with one method whose key
    /// takes no request parameter (built once here instead of per request).
    pub(super) fixed_keys: Vec<Option<(Method, CacheKey)>>,
    pub(super) invalidation_keys: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for MountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountCache")
            .field("capacity_bytes", &self.stage.capacity_bytes())
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

/// One stage's cache, as the stack reports it.
pub struct StageCacheInfo {
    /// The API's name in the config.
    pub api: String,
    /// The API's id.
    pub api_id: String,
    /// The stage's name.
    pub stage: String,
    /// The cache itself (hit/miss counts, size, flush).
    pub cache: Arc<StageCache>,
}

impl StageCacheInfo {
    /// CacheHitCount and CacheMissCount of the stage and each route.
    pub fn metrics(&self) -> CacheMetrics {
        self.cache.metrics()
    }
}

/// Builds the caches of every stage that has a `cache` table.
pub(crate) fn attach(router: &mut Router, apis: &[Api], clock: &Clock, canary: bool) {
    for mount in router.mounts_mut() {
        let Some(api) = apis.iter().find(|a| a.name == mount.api_name) else {
            continue;
        };
        let Some(config) = api
            .stages
            .iter()
            .find(|s| s.name == mount.stage)
            .and_then(|s| s.cache.as_ref())
        else {
            continue;
        };
        let stage = match StageCache::new(config.settings.clone(), clock.clone()) {
            Ok(stage) if config.shared => {
                let level = SharedLevel::new(&api.name, &mount.api_id, &mount.stage);
                let level = if canary { level.for_canary() } else { level };
                Arc::new(stage.with_shared(level))
            }
            Ok(stage) => Arc::new(stage),
            Err(errors) => {
                // Unreachable once the config validated; never serve a half-built cache.
                tracing::error!(?errors, api = %api.name, stage = %mount.stage, "stage cache not built");
                continue;
            }
        };
        let routes = api
            .routes
            .iter()
            .map(|route| {
                let settings = route.cache.clone().unwrap_or_default();
                stage
                    .route(&route.key.text, settings)
                    .map_err(|errors| tracing::error!(?errors, route = %route.key, "route cache not built"))
                    .ok()
            })
            .collect::<Vec<_>>();
        let fixed_keys = api
            .routes
            .iter()
            .zip(&routes)
            .map(|(route, cache)| fixed_key(route, cache.as_ref()?))
            .collect();
        mount.cache = Some(Arc::new(MountCache {
            stage,
            routes,
            fixed_keys,
            invalidation_keys: config
                .invalidation_keys
                .iter()
                .map(|k| k.as_bytes().into())
                .collect(),
        }));
    }
}

/// The key of every request to `route`, when it has one method and no key parameters.
fn fixed_key(route: &crate::config::Route, cache: &RouteCache) -> Option<(Method, CacheKey)> {
    let method = route.key.method.clone()?;
    if !cache.key_spec().is_fixed() {
        return None;
    }
    let key = cache.key(&method, &route.key.resource, &[], &[], &HeaderMap::new());
    Some((method, key))
}

/// Every stage cache of the router.
pub(crate) fn stage_caches(router: &Router) -> Vec<StageCacheInfo> {
    router
        .mounts()
        .iter()
        .filter_map(|m| {
            m.cache.as_ref().map(|c| StageCacheInfo {
                api: m.api_name.clone(),
                api_id: m.api_id.clone(),
                stage: m.stage.clone(),
                cache: c.stage.clone(),
            })
        })
        .collect()
}
