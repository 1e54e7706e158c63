//! `Cache-Control: max-age=0` under each unauthorized strategy, and flushing a stage's cache
//! through API Gateway's FlushStageCache API.

mod cache_support;
mod common;

use cache_support::{call_of, calls, start};
use common::TestStack;

const WARNING: &str = "199 Cache-control headers were ignored because the caller was unauthorized.";

async fn call(stack: &TestStack, path: &str, headers: &[(&str, &str)]) -> u64 {
    let r = stack.request("GET", path, headers, "").await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    call_of(&r.json())
}

#[tokio::test]
async fn an_invalidation_key_refreshes_the_entry() {
    let (stack, counter, _clock) = start().await;
    for path in ["/dev/strict", "/dev/warn", "/dev/quiet"] {
        let old = call(&stack, path, &[]).await;
        let fresh = call(
            &stack,
            path,
            &[("cache-control", "max-age=0"), ("x-api-key", "other-key")],
        )
        .await;
        assert_ne!(fresh, old, "{path}");
        // The fresh response replaced the entry.
        assert_eq!(call(&stack, path, &[]).await, fresh, "{path}");
    }
    assert_eq!(calls(&counter), 6);
}

#[tokio::test]
async fn fail_with_403_refuses_unauthorized_callers_and_keeps_the_entry() {
    let (stack, counter, _clock) = start().await;
    let old = call(&stack, "/dev/strict", &[]).await;
    for headers in [
        &[("cache-control", "max-age=0")][..],
        &[
            ("cache-control", "no-cache, max-age=0"),
            ("x-api-key", "wrong"),
        ][..],
        &[
            ("cache-control", "max-age=0"),
            ("x-api-key", "inv-key-but-longer"),
        ][..],
    ] {
        let r = stack.request("GET", "/dev/strict", headers, "").await;
        assert_eq!(r.status, 403, "{headers:?}");
        assert_eq!(r.json(), serde_json::json!({"message": "Unauthorized"}));
        assert!(r.header("x-amzn-requestid").is_some());
    }
    assert_eq!(call(&stack, "/dev/strict", &[]).await, old);
    assert_eq!(calls(&counter), 1);
    // Other Cache-Control values are not invalidation requests.
    let r = stack
        .request("GET", "/dev/strict", &[("cache-control", "max-age=60")], "")
        .await;
    assert_eq!(call_of(&r.json()), old);
    let log = stack.stack.logs().events("/aws/apigateway/access-logs");
    let refused: serde_json::Value = serde_json::from_str(&log[1].message).unwrap();
    assert_eq!(refused["status"], 403);
    assert!(refused.get("cacheStatus").is_none());
}

#[tokio::test]
async fn succeed_strategies_serve_the_cached_entry() {
    let (stack, counter, _clock) = start().await;
    let unauthorized = [("cache-control", "max-age=0")];
    let old = call(&stack, "/dev/warn", &[]).await;
    let r = stack.request("GET", "/dev/warn", &unauthorized, "").await;
    assert_eq!(call_of(&r.json()), old);
    assert_eq!(r.header("warning"), Some(WARNING));
    // Without the header, the same cached entry comes back without a warning.
    let r = stack.request("GET", "/dev/warn", &[], "").await;
    assert_eq!(r.header("warning"), None);

    let old = call(&stack, "/dev/quiet", &[]).await;
    let r = stack.request("GET", "/dev/quiet", &unauthorized, "").await;
    assert_eq!(call_of(&r.json()), old);
    assert_eq!(r.header("warning"), None);
    assert_eq!(calls(&counter), 2);
}

#[tokio::test]
async fn without_required_authorization_anyone_invalidates() {
    let (stack, counter, _clock) = start().await;
    let old = call(&stack, "/dev/open", &[]).await;
    let fresh = call(&stack, "/dev/open", &[("cache-control", "max-age=0")]).await;
    assert_ne!(fresh, old);
    assert_eq!(call(&stack, "/dev/open", &[]).await, fresh);
    assert_eq!(calls(&counter), 2);
}

#[tokio::test]
async fn flush_stage_cache_drops_every_entry() {
    let (stack, counter, _clock) = start().await;
    let api_id = stack.stack.config().apis[0].id.clone();
    let a = call(&stack, "/dev/items/1", &[]).await;
    let b = call(&stack, "/dev/short", &[]).await;
    let flush = format!("/restapis/{api_id}/stages/dev/cache/data");
    let r = stack.request("DELETE", &flush, &[], "").await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.body.is_empty());
    assert_ne!(call(&stack, "/dev/items/1", &[]).await, a);
    assert_ne!(call(&stack, "/dev/short", &[]).await, b);
    assert_eq!(calls(&counter), 4);
    // The API's name in gateway.toml works too, for local use.
    let r = stack
        .request("DELETE", "/restapis/shop/stages/dev/cache/data", &[], "")
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(calls(&counter), 4);
    assert_ne!(call(&stack, "/dev/items/1", &[]).await, a);
}

#[tokio::test]
async fn flush_stage_cache_rejects_unknown_apis_and_stages() {
    let (stack, counter, _clock) = start().await;
    let kept = call(&stack, "/dev/items/1", &[]).await;
    let cases = [
        (
            "/restapis/nope/stages/dev/cache/data",
            404,
            "NotFoundException",
            "Invalid API identifier specified 123456789012:nope",
        ),
        (
            "/restapis/shop/stages/test/cache/data",
            404,
            "NotFoundException",
            "Invalid stage identifier specified",
        ),
        (
            "/restapis/shop/stages/prod/cache/data",
            400,
            "BadRequestException",
            "Stage prod has no cache cluster; add `cache = { ... }` to the stage",
        ),
    ];
    for (path, status, error_type, message) in cases {
        let r = stack.request("DELETE", path, &[], "").await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("x-amzn-errortype"), Some(error_type), "{path}");
        assert_eq!(
            r.json(),
            serde_json::json!({ "message": message }),
            "{path}"
        );
    }
    // Another method on the path is not a flush.
    let r = stack
        .request("GET", "/restapis/shop/stages/dev/cache/data", &[], "")
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(call(&stack, "/dev/items/1", &[]).await, kept);
    assert_eq!(calls(&counter), 1);
}
