//! Throttling over real HTTP at every level API Gateway has — account, stage default per
//! route, route override, usage plan per key and per route — each a token bucket refilled by
//! the (manual) clock: 429 `{"message":"Too Many Requests"}` with `Retry-After`.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestResponse, TestStack};
use portico_runtime::Clock;

const ALICE: &str = "alice-key-0123456789abcdef";
const BOB: &str = "bob-key-0123456789abcdefgh";

fn clock() -> Clock {
    // 2024-05-15T12:00:00Z
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400))
}

async fn start(toml: &str, clock: &Clock) -> TestStack {
    TestStack::start_with_clock(&quiet(toml), &shipped_registry(), clock.clone()).await
}

async fn get(stack: &TestStack, path: &str, key: Option<&str>) -> TestResponse {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    stack.request("GET", path, &headers, "").await
}

fn assert_throttled(res: &TestResponse, retry_after: &str) {
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(res.text(), r#"{"message":"Too Many Requests"}"#);
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(res.header("retry-after"), Some(retry_after));
}

#[tokio::test]
async fn the_account_bucket_covers_every_route_and_refills_with_the_clock() {
    let clock = clock();
    let stack = start(
        r#"
        [throttle]
        rate_limit = 1
        burst_limit = 2
        [apis.a]
        type = "http"
        [[apis.a.routes]]
        route = "GET /hello/{name}"
        function = "hello"
        [[apis.a.routes]]
        route = "ANY /echo/{proxy+}"
        function = "echo"
        "#,
        &clock,
    )
    .await;
    assert_eq!(stack.get("/hello/a").await.status, 200);
    assert_eq!(stack.get("/echo/b").await.status, 200);
    assert_throttled(&stack.get("/hello/c").await, "1");
    // A throttled request never reaches the function.
    let starts = |stack: &TestStack| {
        let events = stack.stack.logs().events("/aws/lambda/hello");
        events
            .iter()
            .filter(|e| e.message.starts_with("START"))
            .count()
    };
    assert_eq!(starts(&stack), 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(stack.get("/echo/d").await.status, 200);
    assert_throttled(&stack.get("/echo/e").await, "1");
    let counters = stack.stack.traffic().control().counters().snapshot();
    assert_eq!((counters.admitted, counters.throttled_account), (3, 2));
}

const STAGES: &str = r#"
[throttle]
rate_limit = 100000
burst_limit = 100000

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
throttle = { rate_limit = 1, burst_limit = 1 }
[apis.shop.stages.beta]

[[apis.shop.routes]]
route = "GET /a"
function = "echo"

[[apis.shop.routes]]
route = "GET /b"
function = "echo"

[[apis.shop.routes]]
route = "GET /fast"
function = "echo"
throttle = { rate_limit = 2, burst_limit = 3 }
"#;

#[tokio::test]
async fn stage_throttling_gives_each_route_its_own_bucket_and_overrides_replace_it() {
    let clock = clock();
    let stack = start(STAGES, &clock).await;
    assert_eq!(stack.get("/prod/a").await.status, 200);
    assert_throttled(&stack.get("/prod/a").await, "1");
    // Another route of the stage has a bucket of its own.
    assert_eq!(stack.get("/prod/b").await.status, 200);
    assert_throttled(&stack.get("/prod/b").await, "1");
    // The stage without a default is not throttled.
    for _ in 0..5 {
        assert_eq!(stack.get("/beta/a").await.status, 200);
    }
    // The route override: burst 3 in every stage, instead of the stage's 1.
    for stage in ["prod", "beta"] {
        for _ in 0..3 {
            assert_eq!(stack.get(&format!("/{stage}/fast")).await.status, 200);
        }
        assert_throttled(&stack.get(&format!("/{stage}/fast")).await, "1");
    }
    clock.advance(Duration::from_secs(1));
    assert_eq!(stack.get("/prod/a").await.status, 200);
    let counters = stack.stack.traffic().control().counters().snapshot();
    assert_eq!(counters.throttled_stage, 2);
    assert_eq!(counters.throttled_route, 2);
}

const PLANS: &str = r#"
[throttle]
rate_limit = 100000
burst_limit = 100000

[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /pets"
function = "echo"
api_key_required = true

[[apis.shop.routes]]
route = "GET /slow"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{ api = "shop", stage = "prod", throttle = { "GET /slow" = { rate_limit = 0.5, burst_limit = 1 } } }]
throttle = { rate_limit = 1, burst_limit = 2 }
quota = { limit = 100, period = "DAY" }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]

[[api_keys]]
name = "bob"
value = "bob-key-0123456789abcdefgh"
usage_plans = ["basic"]
"#;

#[tokio::test]
async fn usage_plan_throttles_are_per_key_and_per_route() {
    let clock = clock();
    let stack = start(PLANS, &clock).await;
    assert_eq!(get(&stack, "/prod/pets", Some(ALICE)).await.status, 200);
    assert_eq!(get(&stack, "/prod/pets", Some(ALICE)).await.status, 200);
    assert_throttled(&get(&stack, "/prod/pets", Some(ALICE)).await, "1");
    // Bob's bucket is his own.
    assert_eq!(get(&stack, "/prod/pets", Some(BOB)).await.status, 200);
    // The plan's route throttle replaces the plan throttle for that route: 1 request, then
    // a token every 2 seconds.
    assert_eq!(get(&stack, "/prod/slow", Some(BOB)).await.status, 200);
    assert_throttled(&get(&stack, "/prod/slow", Some(BOB)).await, "2");
    clock.advance(Duration::from_secs(2));
    assert_eq!(get(&stack, "/prod/slow", Some(BOB)).await.status, 200);
    assert_eq!(get(&stack, "/prod/pets", Some(ALICE)).await.status, 200);

    // Throttled requests consume no quota: alice was admitted 3 times of 4.
    let control = stack.stack.traffic().control();
    let alice = control.keys().find_by_value(ALICE).unwrap();
    assert_eq!(alice.counters.snapshot().throttled, 1);
    assert_eq!(alice.counters.snapshot().admitted, 3);
    let usage = control
        .get_usage("basic", Some(&alice.id), "2024-05-15", "2024-05-15")
        .await
        .unwrap();
    assert_eq!(usage.values[&*alice.id], vec![[3, 97]]);
    let counters = control.counters().snapshot();
    assert_eq!(counters.throttled_usage_plan, 1);
    assert_eq!(counters.throttled_usage_plan_route, 1);
}
