//! Pipeline step 8: the stage's response cache in front of the integration.
//!
//! Built once at startup ([`attach`]): one [`StageCache`] per stage with a `cache` table and
//! one [`RouteCache`] per route. Per request, [`prepare`] decides whether the request goes
//! through the cache (and answers `FAIL_WITH_403` invalidations), and [`Prepared::serve`]
//! wraps the integration in `get_or_fill`, so concurrent misses call it once.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};
use subtle::ConstantTimeEq;

use super::error::GatewayError;
use super::response::ProxyResponse;
use super::router::{CompiledRoute, Mount, PathParams};
use crate::cache::{
    ignored_invalidation_header, requests_invalidation, CacheKey, CacheStatus, CachedResponse,
    InvalidationDecision, Looked, RouteCache, StageCache,
};
use crate::stack::StackInner;

/// The header whose value must be one of the stage's `invalidation_keys` for a caller to
/// invalidate entries with `Cache-Control: max-age=0`.
pub const INVALIDATION_KEY_HEADER: &str = "x-api-key";

mod setup;

pub(crate) use setup::{attach, stage_caches};
pub use setup::{MountCache, StageCacheInfo};

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
        looked: LookedSlot::new(Looked::NotLooked),
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

/// A [`Looked`] that a shared borrow can update: a hit borrows its [`Prepared`] across an
/// await in a future that must stay `Send`.
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
