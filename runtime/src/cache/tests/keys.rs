//! Cache keys, settings and invalidation rules.

use super::*;

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

#[test]
fn values_cannot_forge_another_keys_layout() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &["method.request.querystring.q"]);
    let h = HeaderMap::new();
    let long = "y".repeat(12);
    let forged = format!("1#1:x1:{long}");
    assert_ne!(
        key(&route, &[("q", "x"), ("q", &long)], &h),
        key(&route, &[("q", &forged)], &h)
    );
    assert_eq!(
        key(&route, &[("q", &long)], &h),
        key(&route, &[("q", &long)], &h)
    );
}
