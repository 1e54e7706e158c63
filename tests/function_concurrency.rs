//! Concurrency caps over real HTTP: reserved and account-wide limits refuse with Lambda's 429
//! and its Reason; the gateway answers a throttled function as API Gateway does.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Hangs until its timeout when asked to, otherwise answers a proxy response.
struct Gate;

#[async_trait]
impl Handler for Gate {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let hang = event["hang"] == true || event["rawPath"] == "/hang" || event["path"] == "/hang";
        if hang {
            std::future::pending::<()>().await;
        }
        Ok(json!({"statusCode": 200, "body": "ok"}))
    }
}

const TOML: &str = r#"
[lambda]
account_concurrency = 2

[functions.one]
handler = "gate"
reserved_concurrency = 1

[functions.other]
handler = "gate"

[functions.off]
handler = "gate"
reserved_concurrency = 0

[apis.http]
type = "http"
[[apis.http.routes]]
route = "ANY /{p}"
function = "one"

[apis.rest]
type = "rest"
base_path = "/r"
[apis.rest.stages.v1]
[[apis.rest.routes]]
route = "ANY /{p}"
function = "one"
"#;

async fn start() -> (TestStack, Clock) {
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut r = Registry::new();
    r.register("gate", Gate);
    (
        TestStack::start_with_clock(&quiet(TOML), &r, clock.clone()).await,
        clock,
    )
}

fn path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

#[tokio::test]
async fn reserved_concurrency_throttles_with_lambdas_429() {
    let (stack, clock) = start().await;
    let client = stack.clone_client();
    let hung = tokio::spawn(async move {
        client
            .request("POST", &path("one"), &[], r#"{"hang":true}"#)
            .await
    });
    while stack.stack.function("one").unwrap().in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    let res = stack.request("POST", &path("one"), &[], "{}").await;
    assert_eq!(res.status, 429);
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(
        res.json(),
        json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."})
    );
    // Through the gateway: an HTTP API says 429, a REST API's proxy integration fails with 500.
    let http = stack.get("/x").await;
    assert_eq!(
        (http.status, http.json()),
        (429, json!({"message": "Too Many Requests"}))
    );
    let rest = stack.get("/r/v1/x").await;
    assert_eq!(
        (rest.status, rest.json()),
        (500, json!({"message": "Internal server error"}))
    );
    assert_eq!(
        rest.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
    // Each refusal is counted in AWS/Lambda Throttles.
    let throttles: Vec<_> = stack
        .stack
        .metrics()
        .find(
            "AWS/Lambda",
            "Throttles",
            &[("FunctionName".into(), "one".into())],
        )
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let stats = portico_runtime::observe::metrics::merged_stats(&throttles, 0, u64::MAX);
    assert_eq!(stats.sum, 3);
    // Once the invocation ends (timed out), the place is free again.
    while clock.sleepers() < 1 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_secs(3));
    assert_eq!(hung.await.unwrap().status, 200);
    assert_eq!(
        stack.request("POST", &path("one"), &[], "{}").await.status,
        200
    );
    assert_eq!(stack.get("/x").await.status, 200);
}

#[tokio::test]
async fn zero_reserved_concurrency_turns_a_function_off() {
    let (stack, _clock) = start().await;
    let res = stack.request("POST", &path("off"), &[], "{}").await;
    assert_eq!(res.status, 429);
    assert_eq!(
        res.json()["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
}

#[tokio::test]
async fn the_account_cap_applies_across_functions() {
    let (stack, clock) = start().await;
    let mut hung = Vec::new();
    for name in ["one", "other"] {
        let client = stack.clone_client();
        hung.push(tokio::spawn(async move {
            client
                .request("POST", &path(name), &[], r#"{"hang":true}"#)
                .await
        }));
    }
    while clock.sleepers() < 2 {
        tokio::task::yield_now().await;
    }
    let res = stack.request("POST", &path("other"), &[], "{}").await;
    assert_eq!(res.status, 429);
    assert_eq!(
        res.json(),
        json!({"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."})
    );
    clock.advance(Duration::from_secs(3));
    for h in hung {
        assert_eq!(h.await.unwrap().status, 200);
    }
    assert_eq!(
        stack
            .request("POST", &path("other"), &[], "{}")
            .await
            .status,
        200
    );
}
