//! Time in Lambda custom integrations, on the manual clock: a function that runs past its
//! own timeout fails with Lambda's `Task timed out after ...` message, which selection
//! patterns match like any error message; the gateway's integration timeout answers 504.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

struct Hangs;

#[async_trait]
impl Handler for Hangs {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        std::future::pending().await
    }
}

const TOML: &str = r#"
[server]
integration_timeout = "5s"

[functions.short]
handler = "hangs"
timeout = "2s"

[functions.long]
handler = "hangs"
timeout = "60s"

[apis.jobs]
type = "rest"
[apis.jobs.stages.v1]

[[apis.jobs.routes]]
route = "POST /short"
function = "short"
[[apis.jobs.routes.integration.responses]]
status_code = 200
[[apis.jobs.routes.integration.responses]]
selection_pattern = '.*Task timed out.*'
status_code = 504
response_templates = { "application/json" = '{"message": "the job took too long"}' }

[[apis.jobs.routes]]
route = "POST /long"
function = "long"
integration = { }
"#;

async fn start() -> (TestStack, Clock) {
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut registry = Registry::new();
    registry.register("hangs", Hangs);
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
    (stack, clock)
}

#[tokio::test]
async fn a_function_timeout_is_an_error_message_patterns_can_select() {
    let (stack, clock) = start().await;
    let client = stack.clone_client();
    let pending = tokio::spawn(async move { client.request("POST", "/v1/short", &[], "{}").await });
    while clock.sleepers() < 1 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_secs(2));
    let res = pending.await.unwrap();
    assert_eq!(res.status, 504, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "the job took too long"}));
}

#[tokio::test]
async fn the_integration_timeout_answers_504_endpoint_request_timed_out() {
    let (stack, clock) = start().await;
    let client = stack.clone_client();
    let pending = tokio::spawn(async move { client.request("POST", "/v1/long", &[], "{}").await });
    while clock.sleepers() < 2 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_secs(5));
    let res = pending.await.unwrap();
    assert_eq!(res.status, 504, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "Endpoint request timed out"}));
}
