//! Response caching over real HTTP: hits, misses, what splits entries, expiry on the clock,
//! what is never cached, the byte capacity, and one integration call for concurrent misses.

mod cache_support;
mod common;

use std::sync::Arc;
use std::time::Duration;

use cache_support::{call_of, calls, start};
use common::{quiet, TestStack};
use portico_runtime::cache::CacheCounts;
use serde_json::Value;
use tokio::sync::Semaphore;

#[tokio::test]
async fn second_get_is_served_from_the_cache_and_counted() {
    let (stack, counter, _clock) = start().await;
    let first = stack.get("/dev/items/1").await;
    let second = stack.get("/dev/items/1").await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(first.body, second.body);
    assert_eq!(calls(&counter), 1);
    // The function's headers come back on a hit; the gateway's ids are the request's own.
    assert_eq!(second.header("x-from"), Some("function"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_ne!(
        first.header("x-amzn-requestid"),
        second.header("x-amzn-requestid")
    );
    assert!(second.header("x-cache").is_none());

    let all = stack.stack.cache_metrics();
    assert_eq!(all.len(), 1, "only stage dev has a cache");
    assert_eq!(
        (all[0].api.as_str(), all[0].stage.as_str()),
        ("shop", "dev")
    );
    let metrics = all[0].metrics();
    let one_each = CacheCounts { hits: 1, misses: 1 };
    assert_eq!(metrics.stage, one_each);
    assert_eq!(metrics.routes["GET /items/{id}"], one_each);
    assert_eq!(metrics.routes["GET /all/{id}"], CacheCounts::default());

    let log = stack.stack.logs().events("/aws/apigateway/access-logs");
    let status: Vec<Value> = log
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.message).unwrap()["cacheStatus"].clone())
        .collect();
    assert_eq!(status, ["miss", "hit"]);

    // A hit carries the same header names as the miss, each id once and never empty.
    let third = stack.get("/dev/items/1").await;
    let names = |r: &common::TestResponse| {
        let mut names: Vec<String> = r.headers.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&first), names(&third));
    for name in ["x-amzn-requestid", "x-amzn-trace-id"] {
        let values: Vec<_> = third.headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "{name}: {values:?}");
        assert!(!values[0].is_empty(), "{name} is empty");
    }
    assert_ne!(
        second.header("x-amzn-trace-id"),
        third.header("x-amzn-trace-id")
    );
}

#[tokio::test]
async fn only_the_configured_key_parameters_split_entries() {
    let (stack, counter, _clock) = start().await;
    let get = |path: &'static str, accept: &'static str| {
        let stack = &stack;
        async move {
            let r = stack
                .request("GET", path, &[("accept", accept), ("x-other", "1")], "")
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            call_of(&r.json())
        }
    };
    let base = get("/dev/items/1?page=1", "application/json").await;
    assert_eq!(
        get("/dev/items/1?utm=x&page=1", "application/json").await,
        base
    );
    assert_ne!(get("/dev/items/2?page=1", "application/json").await, base);
    assert_ne!(get("/dev/items/1?page=2", "application/json").await, base);
    assert_ne!(get("/dev/items/1?page=1", "text/html").await, base);
    assert_eq!(calls(&counter), 4);

    // Without key parameters the resource path is the key, as in API Gateway: /all/1 and
    // /all/2 share an entry.
    let one = stack.get("/dev/all/1").await.json();
    let two = stack.get("/dev/all/2").await.json();
    assert_eq!(call_of(&one), call_of(&two));
    assert_eq!(one["path"], "/all/1");

    // A stage without a cache calls the function every time.
    let before = calls(&counter);
    stack.get("/prod/items/1").await;
    stack.get("/prod/items/1").await;
    assert_eq!(calls(&counter), before + 2);
}

#[tokio::test]
async fn only_configured_methods_and_enabled_routes_are_cached() {
    let (stack, counter, _clock) = start().await;
    for path in ["/dev/off", "/dev/zero"] {
        let a = call_of(&stack.get(path).await.json());
        let b = call_of(&stack.get(path).await.json());
        assert_ne!(a, b, "{path} must not be cached");
    }
    let post = |path: &'static str| {
        let stack = &stack;
        async move { call_of(&stack.request("POST", path, &[], "{}").await.json()) }
    };
    assert_ne!(post("/dev/items").await, post("/dev/items").await);
    assert_eq!(post("/dev/form").await, post("/dev/form").await);
    assert_ne!(
        call_of(&stack.get("/dev/form").await.json()),
        call_of(&stack.get("/dev/form").await.json())
    );
    assert_eq!(calls(&counter), 4 + 2 + 1 + 2);
    let log = stack.stack.logs().events("/aws/apigateway/access-logs");
    let first: Value = serde_json::from_str(&log[0].message).unwrap();
    assert!(first.get("cacheStatus").is_none(), "{first}");
}

#[tokio::test]
async fn entries_expire_after_their_ttl_on_the_clock() {
    let (stack, counter, clock) = start().await;
    let short = call_of(&stack.get("/dev/short").await.json());
    let stage = call_of(&stack.get("/dev/items/1").await.json());
    clock.advance(Duration::from_secs(9));
    assert_eq!(call_of(&stack.get("/dev/short").await.json()), short);
    clock.advance(Duration::from_secs(1));
    let refreshed = call_of(&stack.get("/dev/short").await.json());
    assert_ne!(refreshed, short);
    assert_eq!(call_of(&stack.get("/dev/short").await.json()), refreshed);
    // The stage's 60 s applies to routes without their own TTL.
    clock.advance(Duration::from_secs(49));
    assert_eq!(call_of(&stack.get("/dev/items/1").await.json()), stage);
    clock.advance(Duration::from_secs(1));
    assert_ne!(call_of(&stack.get("/dev/items/1").await.json()), stage);
    assert_eq!(calls(&counter), 4);
}

#[tokio::test]
async fn errors_and_items_over_one_megabyte_are_not_cached() {
    let (stack, counter, _clock) = start().await;
    for _ in 0..2 {
        let r = stack.get("/dev/items/1?status=500").await;
        assert_eq!(r.status, 500);
    }
    for _ in 0..2 {
        let r = stack.get("/dev/items/1?size=1100000").await;
        assert_eq!(r.status, 200);
        assert!(r.body.len() > 1_100_000);
    }
    assert_eq!(calls(&counter), 4);
    let log = stack.stack.logs().events("/aws/apigateway/access-logs");
    let last: Value = serde_json::from_str(&log[3].message).unwrap();
    assert_eq!(last["cacheStatus"], "uncacheable");
}

#[tokio::test]
async fn memory_stays_under_the_configured_capacity() {
    let toml = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev]
cache = { capacity_bytes = 20000 }
[[apis.shop.routes]]
route = "GET /items"
function = "count"
cache = { key_parameters = ["method.request.querystring.n"] }
"#;
    let (registry, counter) = cache_support::registry(None);
    let stack = TestStack::start(&quiet(toml), &registry).await;
    for n in 0..100 {
        let r = stack.get(&format!("/dev/items?n={n}&size=1000")).await;
        assert_eq!(r.status, 200);
    }
    let cache = stack.stack.cache_metrics().remove(0).cache;
    let used = cache.weighted_size().await;
    assert!(
        used <= 20_000,
        "{used} bytes held, over the 20000 configured"
    );
    assert!(used > 10_000, "the cache should still hold entries: {used}");
    assert!(cache.entry_count().await < 100);
    assert_eq!(calls(&counter), 100);
}

#[tokio::test]
async fn concurrent_misses_call_the_integration_once() {
    const N: usize = 50;
    let gate = Arc::new(Semaphore::new(0));
    let (registry, counter) = cache_support::registry(Some(gate.clone()));
    let stack = TestStack::start(&quiet(cache_support::TOML), &registry).await;
    let stack = Arc::new(stack);
    let requests: Vec<_> = (0..N)
        .map(|_| {
            let stack = stack.clone();
            tokio::spawn(async move { stack.get("/dev/items/7").await })
        })
        .collect();
    let cache = stack.stack.cache_metrics().remove(0).cache;
    // Every request is inside the cache: one running the function, the rest waiting on it.
    let mut spins = 0u64;
    while cache.in_flight() < N {
        spins += 1;
        assert!(
            spins < 10_000_000,
            "only {} requests arrived",
            cache.in_flight()
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(calls(&counter), 1);
    gate.add_permits(N);
    let mut bodies = Vec::new();
    for r in requests {
        let r = r.await.unwrap();
        assert_eq!(r.status, 200);
        bodies.push(r.body);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert_eq!(calls(&counter), 1);
    assert_eq!(
        stack.stack.cache_metrics()[0].metrics().stage,
        CacheCounts {
            hits: N as u64 - 1,
            misses: 1
        }
    );
}
