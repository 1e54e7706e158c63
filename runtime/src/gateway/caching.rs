//! Pipeline step 8: the stage's response cache in front of the integration.
//!
//! Built once at startup ([`attach`]): one [`StageCache`] per stage with a `cache` table and
//! one [`RouteCache`] per route. Per request, [`prepare`] decides whether the request goes
//! through the cache (and answers `FAIL_WITH_403` invalidations), and [`Prepared::serve`]
//! wraps the integration in `get_or_fill`, so concurrent misses call it once.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};
use subtle::ConstantTimeEq;

use super::error::GatewayError;
use super::response::ProxyResponse;
use super::router::{CompiledRoute, Mount, PathParams, Router};
use crate::cache::{
    ignored_invalidation_header, requests_invalidation, CacheKey, CacheMetrics, CacheStatus,
    CachedResponse, InvalidationDecision, Looked, RouteCache, SharedLevel, StageCache,
};
use crate::config::Api;
use crate::stack::StackInner;
use crate::Clock;

/// The header whose value must be one of the stage's `invalidation_keys` for a caller to
/// invalidate entries with `Cache-Control: max-age=0`.
pub const INVALIDATION_KEY_HEADER: &str = "x-api-key";

/// One stage's cache with its routes' settings.
pub struct MountCache {
    stage: Arc<StageCache>,
    /// By route index; `None` where the route's settings failed (never, once validated).
    routes: Vec<Option<RouteCache>>,
    /// By route index: the key every request gets, for a route with one method whose key
    /// takes no request parameter (built once here instead of per request).
    fixed_keys: Vec<Option<(Method, CacheKey)>>,
    invalidation_keys: Vec<Box<[u8]>>,
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

/// A request that goes through the cache.
pub(crate) struct Prepared<'a> {
    stage: &'a StageCache,
    route: &'a RouteCache,
    key: CacheKey,
    invalidate: bool,
    warn: bool,
    /// What a lookup of the key saw, so a miss is not looked up again.
    looked: LookedSlot,
}

/// Connects a stage cache's shared level (if it has one) to the stack's store and metrics.
/// Caches are built without the store (a generation is built from the config alone), so
/// this runs where both meet: on each cached request and before a flush.
pub(crate) fn bind_shared(stage: &StageCache, stack: &StackInner) {
    if let Some(shared) = stage.shared() {
        shared.bind(&stack.store, &stack.metrics);
    }
}

/// Decides whether a request goes through its stage's cache. `params` are the raw path
/// parameters; `looked`: what an earlier lookup of this request's key saw (then
/// [`Prepared::hit`] does not look again). `Err` is the `FAIL_WITH_403` answer to an
/// unauthorized invalidation.
pub(crate) fn prepare<'a>(
    stack: &StackInner,
    mount: &'a Mount,
    route: &CompiledRoute,
    parts: &Parts,
    params: &PathParams<'_>,
    looked: Looked,
) -> Result<Option<Prepared<'a>>, (GatewayError, String)> {
    let (method, headers) = (&parts.method, &parts.headers);
    let Some(cache) = mount.cache.as_deref() else {
        return Ok(None);
    };
    let Some(Some(route_cache)) = cache.routes.get(route.index) else {
        return Ok(None);
    };
    if !route_cache.caches(method) {
        return Ok(None);
    }
    bind_shared(&cache.stage, stack);
    let requested = requests_invalidation(headers);
    let authorized = requested && cache.authorized(headers);
    let (invalidate, warn) = match route_cache
        .settings()
        .decide_invalidation(requested, authorized)
    {
        InvalidationDecision::Lookup => (false, false),
        InvalidationDecision::Invalidate => (true, false),
        InvalidationDecision::Ignore { warn } => (false, warn),
        InvalidationDecision::Forbidden => {
            return Err((
                GatewayError::CacheInvalidationForbidden,
                "Cache-Control: max-age=0 without a valid invalidation key".into(),
            ))
        }
    };
    let key = match cache.fixed_keys.get(route.index) {
        Some(Some((fixed_method, key))) if fixed_method == method => key.clone(),
        _ => request_key(
            route_cache,
            route,
            method,
            headers,
            params,
            parts.uri.query().unwrap_or(""),
        ),
    };
    Ok(Some(Prepared {
        stage: &cache.stage,
        route: route_cache,
        key,
        invalidate,
        warn,
        looked: LookedSlot::new(looked),
    }))
}

/// The cache key of a request, from the parameters the route's key takes.
fn request_key(
    route_cache: &RouteCache,
    route: &CompiledRoute,
    method: &Method,
    headers: &HeaderMap,
    params: &PathParams<'_>,
    raw_query: &str,
) -> CacheKey {
    let spec = route_cache.key_spec();
    let path_params: Vec<(&str, Cow<'_, str>)> = if spec.uses_path() {
        params
            .iter()
            .map(|(name, raw)| {
                let value = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                (name, value)
            })
            .collect()
    } else {
        Vec::new()
    };
    let path_params: Vec<(&str, &str)> = path_params.iter().map(|(n, v)| (*n, &**v)).collect();
    let query: Vec<(Cow<'_, str>, Cow<'_, str>)> = if spec.uses_query() {
        form_urlencoded::parse(raw_query.as_bytes()).collect()
    } else {
        Vec::new()
    };
    let query: Vec<(&str, &str)> = query.iter().map(|(n, v)| (&**n, &**v)).collect();
    route_cache.key(method, &route.key.resource, &path_params, &query, headers)
}

impl MountCache {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers.get(INVALIDATION_KEY_HEADER) else {
            return false;
        };
        let given = given.as_bytes();
        // Every key is compared, so the time taken does not tell which one nearly matched.
        self.invalidation_keys
            .iter()
            .fold(false, |found, key| found | bool::from(key.ct_eq(given)))
    }
}

impl Prepared<'_> {
    /// The cached response when the key has a fresh entry (counted as a hit), so the caller
    /// skips building the integration; `None` on a miss or when the request invalidates.
    /// `now_millis`: the request's arrival on the stack's clock.
    pub(crate) async fn hit(
        &self,
        status: &mut Option<CacheStatus>,
        now_millis: u64,
    ) -> Option<ProxyResponse> {
        if self.invalidate || self.looked.get() != Looked::NotLooked {
            return None;
        }
        match self.stage.lookup(self.route, &self.key, now_millis).await {
            Ok(cached) => {
                *status = Some(CacheStatus::Hit);
                Some(respond(&cached, self.warn))
            }
            Err(looked) => {
                self.looked.set(looked);
                None
            }
        }
    }

    /// Serves the request from the cache, or runs `integration` (once for all concurrent
    /// misses of the key) and caches its response when it is a 2xx of at most 1 MB.
    pub(crate) async fn serve<F>(
        self,
        integration: F,
        status: &mut Option<CacheStatus>,
    ) -> Result<ProxyResponse, (GatewayError, String)>
    where
        F: Future<Output = Result<ProxyResponse, (GatewayError, String)>>,
    {
        let looked = if self.invalidate {
            self.stage.invalidate(&self.key).await;
            Looked::NotLooked
        } else {
            self.looked.get()
        };
        // The request that runs the integration keeps its error detail for the access log;
        // requests that waited on it get the same response without the detail.
        let mut failure = None;
        let fill = async {
            match integration.await {
                Ok(response) => to_cached(response),
                Err((error, detail)) => {
                    failure = Some((error.clone(), detail));
                    error_response(error)
                }
            }
        };
        // Boxed: the fill's future (moka's entry API around the integration) is large, and
        // inline it sized every frame polling the request (debug builds overflowed a 2 MiB
        // thread stack). Plain in-process hits never get here.
        let (cached, cache_status) = Box::pin(
            self.stage
                .get_or_fill_after(self.route, self.key, fill, looked),
        )
        .await;
        *status = Some(cache_status);
        if let Some(failure) = failure {
            return Err(failure);
        }
        Ok(respond(&cached, self.warn))
    }
}

/// A [`Looked`] that a shared borrow can update: a hit borrows its [`Prepared`] (and the
/// pipeline its exchange) across an await in a future that must stay `Send`.
pub(crate) struct LookedSlot(AtomicU8);

impl LookedSlot {
    /// A slot holding `looked`.
    pub(crate) fn new(looked: Looked) -> Self {
        LookedSlot(AtomicU8::new(looked as u8))
    }

    /// What the slot holds.
    pub(crate) fn get(&self) -> Looked {
        match self.0.load(Ordering::Relaxed) {
            x if x == Looked::Absent as u8 => Looked::Absent,
            x if x == Looked::Stale as u8 => Looked::Stale,
            _ => Looked::NotLooked,
        }
    }

    /// Replaces what the slot holds.
    pub(crate) fn set(&self, looked: Looked) {
        self.0.store(looked as u8, Ordering::Relaxed);
    }
}

impl Prepared<'_> {
    /// What the last lookup of the key saw (`NotLooked` after a hit or before any lookup).
    pub(crate) fn looked(&self) -> Looked {
        self.looked.get()
    }
}

/// The access-log spelling of a cache status.
pub(crate) fn status_text(status: CacheStatus) -> &'static str {
    match status {
        CacheStatus::Hit => "hit",
        CacheStatus::Miss => "miss",
        CacheStatus::Uncacheable => "uncacheable",
        CacheStatus::Bypass => "bypass",
    }
}

fn to_cached(response: ProxyResponse) -> CachedResponse {
    let mut headers = Vec::with_capacity(response.headers.len());
    let mut last = None;
    for (name, value) in response.headers {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            headers.push((name.clone(), value));
        }
    }
    CachedResponse::with_headers(response.status, headers, response.body)
}

// The cached response, with the ignored-invalidation header when `warn`.
fn respond(cached: &CachedResponse, warn: bool) -> ProxyResponse {
    let mut headers = cached.header_map();
    if warn {
        let (name, value) = ignored_invalidation_header();
        headers.insert(name, value);
    }
    ProxyResponse {
        status: cached.status,
        headers,
        body: cached.body.clone(),
    }
}

// The same answer the pipeline gives for `error`, for requests that waited on a failed fill.
fn error_response(error: GatewayError) -> CachedResponse {
    let mut response = CachedResponse::new(error.status(), error.body());
    response.headers.push((
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ));
    if let Some(t) = error.error_type() {
        response.headers.push((
            http::HeaderName::from_static("x-amzn-errortype"),
            HeaderValue::from_static(t),
        ));
    }
    response
}
