//! Behaviour of the response cache through its public API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::*;
use crate::Clock;

fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

fn stage(clock: &Clock, capacity_bytes: u64) -> StageCache {
    let settings = StageCacheSettings {
        capacity_bytes,
        ttl_seconds: DEFAULT_TTL_SECONDS,
    };
    StageCache::new(settings, clock.clone()).unwrap()
}

fn route(stage: &StageCache, ttl: Option<u32>, params: &[&str]) -> RouteCache {
    let settings = RouteCacheSettings {
        ttl_seconds: ttl,
        key_parameters: params.iter().map(|p| p.to_string()).collect(),
        ..RouteCacheSettings::default()
    };
    stage.route("GET /pets", settings).unwrap()
}

fn key(route: &RouteCache, query: &[(&str, &str)], headers: &HeaderMap) -> CacheKey {
    route.key(&Method::GET, "/pets", &[], query, headers)
}

async fn fetch(
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

fn ok(body: &'static str) -> CachedResponse {
    CachedResponse::new(StatusCode::OK, body)
}

#[tokio::test]
async fn second_request_is_a_hit_and_counted() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &[]);
    let calls = AtomicUsize::new(0);
    let k = key(&route, &[], &HeaderMap::new());
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("a")).await,
        CacheStatus::Miss
    );
    let (body, status) = stage.get_or_fill(&route, k, async { ok("b") }).await;
    assert_eq!((body.body.as_ref(), status), (&b"a"[..], CacheStatus::Hit));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let metrics = stage.metrics();
    let counts = CacheCounts { hits: 1, misses: 1 };
    assert_eq!(metrics.stage, counts);
    assert_eq!(metrics.routes["GET /pets"], counts);
}

#[test]
fn only_configured_parameters_split_entries_in_any_order() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(
        &stage,
        None,
        &[
            "method.request.querystring.page",
            "method.request.header.Accept",
        ],
    );
    let json = |v: &'static str| {
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static(v));
        h.insert("x-request-id", HeaderValue::from_static("unrelated"));
        h
    };
    let base = key(
        &route,
        &[("page", "1"), ("utm", "x")],
        &json("application/json"),
    );
    assert_eq!(
        base,
        key(
            &route,
            &[("utm", "y"), ("page", "1")],
            &json("application/json")
        )
    );
    assert_ne!(
        base,
        key(&route, &[("page", "2")], &json("application/json"))
    );
    assert_ne!(base, key(&route, &[("page", "1")], &json("text/html")));
    assert_ne!(
        base,
        route.key(
            &Method::GET,
            "/cats",
            &[],
            &[("page", "1")],
            &json("application/json")
        )
    );
    // Repeated values and configured-name order do not matter either.
    let reordered = route_with(
        &stage,
        &[
            "method.request.header.accept",
            "method.request.querystring.page",
        ],
    );
    let a = key(
        &reordered,
        &[("page", "1"), ("page", "2")],
        &HeaderMap::new(),
    );
    let b = key(
        &reordered,
        &[("page", "2"), ("page", "1")],
        &HeaderMap::new(),
    );
    assert_eq!(a, b);
    assert_ne!(a, key(&reordered, &[("page", "1")], &HeaderMap::new()));
}

fn route_with(stage: &StageCache, params: &[&str]) -> RouteCache {
    route(stage, None, params)
}

#[test]
fn path_parameters_split_entries() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &["method.request.path.id"]);
    let h = HeaderMap::new();
    let one = route.key(
        &Method::GET,
        "/pets/{id}",
        &[("id", "1"), ("x", "a")],
        &[],
        &h,
    );
    let same = route.key(
        &Method::GET,
        "/pets/{id}",
        &[("x", "b"), ("id", "1")],
        &[],
        &h,
    );
    let two = route.key(&Method::GET, "/pets/{id}", &[("id", "2")], &[], &h);
    assert_eq!(one, same);
    assert_ne!(one, two);
}

#[tokio::test]
async fn entries_expire_on_the_manual_clock() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, Some(10), &[]);
    let calls = AtomicUsize::new(0);
    let k = key(&route, &[], &HeaderMap::new());
    fetch(&stage, &route, k.clone(), &calls, ok("a")).await;
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("b")).await,
        CacheStatus::Hit
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("b")).await,
        CacheStatus::Miss
    );
    let (body, status) = stage.get_or_fill(&route, k, async { ok("c") }).await;
    assert_eq!((body.body.as_ref(), status), (&b"b"[..], CacheStatus::Hit));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn ttl_zero_bypasses_and_errors_or_big_items_are_not_stored() {
    let clock = clock();
    let stage = stage(&clock, 8 << 20);
    let calls = AtomicUsize::new(0);
    let off = route(&stage, Some(0), &[]);
    assert!(!off.caches(&Method::GET));
    let k = key(&off, &[], &HeaderMap::new());
    assert_eq!(
        fetch(&stage, &off, k.clone(), &calls, ok("a")).await,
        CacheStatus::Bypass
    );
    assert_eq!(
        fetch(&stage, &off, k, &calls, ok("a")).await,
        CacheStatus::Bypass
    );

    let on = route(&stage, None, &[]);
    let k = key(&on, &[], &HeaderMap::new());
    let error = CachedResponse::new(StatusCode::BAD_GATEWAY, "oops");
    let (body, status) = stage
        .get_or_fill(&on, k.clone(), async { error.clone() })
        .await;
    assert_eq!(
        (body.status, status),
        (StatusCode::BAD_GATEWAY, CacheStatus::Uncacheable)
    );
    let big = CachedResponse::new(StatusCode::OK, vec![0u8; MAX_ITEM_BYTES + 1]);
    assert_eq!(
        fetch(&stage, &on, k.clone(), &calls, big).await,
        CacheStatus::Uncacheable
    );
    assert_eq!(
        fetch(&stage, &on, k, &calls, ok("fine")).await,
        CacheStatus::Miss
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(stage.entry_count().await, 1);
}

#[tokio::test]
async fn weighted_size_stays_under_capacity() {
    let clock = clock();
    let capacity = 20_000;
    let stage = stage(&clock, capacity);
    let route = route(&stage, None, &["method.request.querystring.n"]);
    let calls = AtomicUsize::new(0);
    for n in 0..100 {
        let n = n.to_string();
        let k = key(&route, &[("n", &n)], &HeaderMap::new());
        let body = CachedResponse::new(StatusCode::OK, vec![b'x'; 1_000]);
        fetch(&stage, &route, k, &calls, body).await;
    }
    let size = stage.weighted_size().await;
    assert!(size <= capacity, "weighted size {size} over {capacity}");
    assert!(
        size > capacity / 2,
        "cache should still hold entries, has {size}"
    );
    assert!(stage.entry_count().await < 100);
}

#[tokio::test]
async fn invalidate_one_key_and_flush_all() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &["method.request.querystring.n"]);
    let calls = AtomicUsize::new(0);
    let a = key(&route, &[("n", "a")], &HeaderMap::new());
    let b = key(&route, &[("n", "b")], &HeaderMap::new());
    fetch(&stage, &route, a.clone(), &calls, ok("a")).await;
    fetch(&stage, &route, b.clone(), &calls, ok("b")).await;
    stage.invalidate(&a).await;
    assert_eq!(
        fetch(&stage, &route, a.clone(), &calls, ok("a")).await,
        CacheStatus::Miss
    );
    assert_eq!(
        fetch(&stage, &route, b.clone(), &calls, ok("b")).await,
        CacheStatus::Hit
    );
    stage.flush();
    assert_eq!(
        fetch(&stage, &route, a, &calls, ok("a")).await,
        CacheStatus::Miss
    );
    assert_eq!(
        fetch(&stage, &route, b, &calls, ok("b")).await,
        CacheStatus::Miss
    );
}

#[test]
fn max_age_zero_follows_the_unauthorized_strategy() {
    let mut headers = HeaderMap::new();
    assert!(!requests_invalidation(&headers));
    headers.insert(
        "cache-control",
        HeaderValue::from_static("no-store, Max-Age = 0"),
    );
    assert!(requests_invalidation(&headers));
    headers.insert("cache-control", HeaderValue::from_static("max-age=60"));
    assert!(!requests_invalidation(&headers));

    let with = |strategy, required| RouteCacheSettings {
        unauthorized_strategy: strategy,
        require_authorization_for_invalidation: required,
        ..RouteCacheSettings::default()
    };
    use InvalidationDecision::*;
    use UnauthorizedStrategy::*;
    let fail = with(FailWith403, true);
    assert_eq!(fail.decide_invalidation(false, false), Lookup);
    assert_eq!(fail.decide_invalidation(true, true), Invalidate);
    assert_eq!(fail.decide_invalidation(true, false), Forbidden);
    let warn = with(SucceedWithResponseHeader, true);
    assert_eq!(warn.decide_invalidation(true, false), Ignore { warn: true });
    let quiet = with(SucceedWithoutResponseHeader, true);
    assert_eq!(
        quiet.decide_invalidation(true, false),
        Ignore { warn: false }
    );
    let open = with(FailWith403, false);
    assert_eq!(open.decide_invalidation(true, false), Invalidate);
    assert_eq!(ignored_invalidation_header().0.as_str(), "warning");
}

#[test]
fn settings_parse_from_toml_and_validate() {
    let settings: RouteCacheSettings = toml::from_str(
        r#"
        ttl_seconds = 4000
        key_parameters = ["method.request.querystring.q", "method.request.cookie.x"]
        methods = ["GET", "get"]
        unauthorized_strategy = "FAIL_WITH_403"
        "#,
    )
    .unwrap();
    assert_eq!(
        settings.unauthorized_strategy,
        UnauthorizedStrategy::FailWith403
    );
    let errors = settings.validate("r").unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(matches!(
        errors[0],
        CacheError::TtlTooLong { ttl: 4000, .. }
    ));
    assert!(matches!(errors[1], CacheError::BadMethod { .. }));
    assert!(matches!(errors[2], CacheError::BadKeyParameter { .. }));
    assert!(toml::from_str::<RouteCacheSettings>("ttl = 5").is_err());
    let zero = StageCacheSettings {
        capacity_bytes: 0,
        ttl_seconds: 300,
    };
    assert!(StageCache::new(zero, clock()).is_err());
    let defaults = RouteCacheSettings::default();
    assert!(defaults.caches_method(&Method::GET));
    assert!(!defaults.caches_method(&Method::POST));
}

#[tokio::test]
async fn hundred_concurrent_misses_fill_once() {
    let clock = clock();
    let stage = Arc::new(stage(&clock, 1 << 20));
    let route = Arc::new(route(&stage, None, &[]));
    let calls = Arc::new(AtomicUsize::new(0));
    let k = key(&route, &[], &HeaderMap::new());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (stage, route, calls, k) = (stage.clone(), route.clone(), calls.clone(), k.clone());
            tokio::spawn(async move {
                let fill = async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..50 {
                        tokio::task::yield_now().await;
                    }
                    ok("once")
                };
                stage.get_or_fill(&route, k, fill).await
            })
        })
        .collect();
    let mut misses = 0;
    for task in tasks {
        let (body, status) = task.await.unwrap();
        assert_eq!(body.body.as_ref(), b"once");
        misses += usize::from(status == CacheStatus::Miss);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(misses, 1);
    assert_eq!(
        stage.metrics().stage,
        CacheCounts {
            hits: 99,
            misses: 1
        }
    );
}
