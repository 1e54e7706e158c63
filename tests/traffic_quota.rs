//! Quotas over real HTTP: exact under concurrency (a limit of N admits exactly N), 429
//! `{"message":"Limit Exceeded"}` with `Retry-After` until the period ends, and resets at
//! DAY, WEEK and MONTH boundaries in UTC with their offsets — by moving the clock, not sleeping.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestResponse, TestStack};
use portico_runtime::Clock;

const ALICE: &str = "alice-key-0123456789abcdef";
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn clock() -> Clock {
    // 2024-05-15T12:00:00Z, a Wednesday.
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400))
}

fn toml(quota: &str) -> String {
    quiet(&format!(
        r#"
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

[[usage_plans]]
id = "basic"
stages = [{{ api = "shop", stage = "prod" }}]
quota = {quota}

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]
"#
    ))
}

async fn pets(stack: &TestStack) -> TestResponse {
    stack
        .request("GET", "/prod/pets", &[("x-api-key", ALICE)], "")
        .await
}

fn assert_limit_exceeded(res: &TestResponse, retry_after: u64) {
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(res.text(), r#"{"message":"Limit Exceeded"}"#);
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("LimitExceededException")
    );
    assert_eq!(
        res.header("retry-after"),
        Some(retry_after.to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_of_n_admits_exactly_n_of_256_concurrent_clients() {
    const LIMIT: u64 = 100;
    let clock = clock();
    let config = toml(&format!(r#"{{ limit = {LIMIT}, period = "DAY" }}"#));
    let stack = Arc::new(TestStack::start_with_clock(&config, &shipped_registry(), clock).await);
    let start = Arc::new(tokio::sync::Barrier::new(256));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..256 {
        let (stack, start) = (stack.clone(), start.clone());
        clients.spawn(async move {
            start.wait().await;
            let res = pets(&stack).await;
            (res.status, res.text())
        });
    }
    let (mut ok, mut exceeded) = (0, 0);
    while let Some(result) = clients.join_next().await {
        match result.unwrap() {
            (200, _) => ok += 1,
            (429, body) if body == r#"{"message":"Limit Exceeded"}"# => exceeded += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((ok, exceeded), (LIMIT, 256 - LIMIT));
    let usage = stack
        .get("/usageplans/basic/usage?startDate=2024-05-15&endDate=2024-05-15")
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text());
    let values = usage.json()["values"].clone();
    let (_, days) = values.as_object().unwrap().iter().next().unwrap();
    assert_eq!(days, &serde_json::json!([[LIMIT, 0]]));
    let counters = stack.stack.traffic().control().counters().snapshot();
    assert_eq!(counters.admitted, LIMIT);
    assert_eq!(counters.quota_exceeded, 256 - LIMIT);
}

#[tokio::test]
async fn a_daily_quota_resets_at_midnight_utc() {
    let clock = clock();
    let config = toml(r#"{ limit = 2, period = "DAY" }"#);
    let stack = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    assert_eq!(pets(&stack).await.status, 200);
    assert_eq!(pets(&stack).await.status, 200);
    assert_limit_exceeded(&pets(&stack).await, 12 * HOUR);
    clock.advance(Duration::from_secs(12 * HOUR - 1));
    assert_limit_exceeded(&pets(&stack).await, 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(pets(&stack).await.status, 200);
    assert_eq!(pets(&stack).await.status, 200);
    assert_limit_exceeded(&pets(&stack).await, DAY);
}

#[tokio::test]
async fn a_weekly_quota_starts_on_the_offset_weekday() {
    let clock = clock();
    // Offset 4: weeks start on Thursday, 12 hours after the clock's Wednesday noon.
    let config = toml(r#"{ limit = 1, period = "WEEK", offset = 4 }"#);
    let stack = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    assert_eq!(pets(&stack).await.status, 200);
    assert_limit_exceeded(&pets(&stack).await, 12 * HOUR);
    clock.advance(Duration::from_secs(12 * HOUR));
    assert_eq!(pets(&stack).await.status, 200);
    assert_limit_exceeded(&pets(&stack).await, 7 * DAY);
    clock.advance(Duration::from_secs(6 * DAY));
    assert_limit_exceeded(&pets(&stack).await, DAY);
}

#[tokio::test]
async fn a_monthly_quota_starts_on_offset_plus_one() {
    let clock = clock();
    // Offset 14: months start on the 15th; the clock reads May 15, noon.
    let config = toml(r#"{ limit = 1, period = "MONTH", offset = 14 }"#);
    let stack = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    assert_eq!(pets(&stack).await.status, 200);
    // Until June 15, 00:00 UTC: 31 days minus 12 hours.
    assert_limit_exceeded(&pets(&stack).await, 31 * DAY - 12 * HOUR);
    clock.advance(Duration::from_secs(31 * DAY - 12 * HOUR));
    assert_eq!(pets(&stack).await.status, 200);
    // June has 30 days.
    assert_limit_exceeded(&pets(&stack).await, 30 * DAY);
}

#[tokio::test]
async fn upkeep_drops_expired_counters_as_traffic_flows() {
    let clock = clock();
    let config = toml(r#"{ limit = 5, period = "DAY" }"#);
    let stack = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    assert_eq!(pets(&stack).await.status, 200);
    let store = stack.stack.traffic().store();
    // Today's quota counter and today's usage counter.
    assert_eq!(store.len_hint(), Some(2));
    // Past the usage retention (90 days), both have expired; the next request after the
    // upkeep interval drops them off the request path.
    clock.advance(Duration::from_secs(92 * DAY));
    assert_eq!(pets(&stack).await.status, 200);
    let mut waited = 0;
    while store.len_hint() != Some(2) {
        assert!(
            waited < 10_000,
            "upkeep never ran: {:?} keys",
            store.len_hint()
        );
        waited += 1;
        tokio::task::yield_now().await;
    }
}
