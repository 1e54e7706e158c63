//! Behaviour of the response cache through its public API.

mod fill;
mod keys;
mod lookup;
mod record;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::*;
use crate::Clock;

pub(super) fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

pub(super) fn stage(clock: &Clock, capacity_bytes: u64) -> StageCache {
    let settings = StageCacheSettings {
        capacity_bytes,
        ttl_seconds: DEFAULT_TTL_SECONDS,
    };
    StageCache::new(settings, clock.clone()).unwrap()
}

pub(super) fn route(stage: &StageCache, ttl: Option<u32>, params: &[&str]) -> RouteCache {
    let settings = RouteCacheSettings {
        ttl_seconds: ttl,
        key_parameters: params.iter().map(|p| p.to_string()).collect(),
        ..RouteCacheSettings::default()
    };
    stage.route("GET /pets", settings).unwrap()
}

pub(super) fn key(route: &RouteCache, query: &[(&str, &str)], headers: &HeaderMap) -> CacheKey {
    route.key(&Method::GET, "/pets", &[], query, headers)
}

pub(super) async fn fetch(
    stage: &StageCache,
    route: &RouteCache,
    key: CacheKey,
    calls: &AtomicUsize,
    response: CachedResponse,
) -> CacheStatus {
    stage
        .get_or_fill(route, key, async {
            calls.fetch_add(1, Ordering::SeqCst);
            response
        })
        .await
        .1
}

pub(super) fn ok(body: &'static str) -> CachedResponse {
    CachedResponse::new(StatusCode::OK, body)
}
