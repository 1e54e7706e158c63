//! The order-processing example (examples/orders) end to end over HTTP: validate → choice →
//! map over items → charge with Retry → Catch to a compensation step, on a manual clock.

mod common;

#[path = "../examples/orders/functions.rs"]
mod functions;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{TestResponse, TestStack};
use portico_runtime::{Clock, Config, Registry, Stack};
use serde_json::json;

struct Orders {
    stack: TestStack,
    clock: Clock,
    charges: Arc<Mutex<HashMap<String, u32>>>,
}

async fn start() -> Orders {
    let charges = Arc::new(Mutex::new(HashMap::new()));
    let mut registry = Registry::new();
    functions::register(&mut registry, charges.clone());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/gateway.toml");
    let mut config = Config::load(&path, &registry).unwrap_or_else(|e| panic!("{e}"));
    config.logs.stdout = false;
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::serve(
        Stack::builder(config, &registry)
            .clock(clock.clone())
            .build(),
    )
    .await;
    Orders {
        stack,
        clock,
        charges,
    }
}

impl Orders {
    /// Sends a request while moving the clock through every Retry wait.
    async fn post(&self, path: &str, body: &str) -> TestResponse {
        let url = path.to_owned();
        let body = body.to_owned();
        let stack = &self.stack;
        let request = stack.request("POST", &url, &[("content-type", "application/json")], body);
        tokio::pin!(request);
        loop {
            tokio::select! {
                res = &mut request => return res,
                _ = tokio::task::yield_now() => {
                    if self.clock.sleepers() > 0 {
                        self.clock.advance(Duration::from_secs(1));
                    }
                }
            }
        }
    }
}

const ORDER: &str =
    r#"{"order_id":"o-1","card":"4242","items":[{"sku":"tea","qty":2},{"sku":"cup","qty":1}]}"#;

#[tokio::test]
async fn a_good_order_is_charged_after_one_retry() {
    let orders = start().await;
    let res = orders.post("/orders", ORDER).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"order_id": "o-1", "total": 2100, "charge_id": "ch-o-1-2", "items": 2})
    );
    assert_eq!(
        orders.charges.lock().unwrap()["o-1"],
        2,
        "the first charge attempt was retried once"
    );
}

#[tokio::test]
async fn an_invalid_order_fails_with_the_workflows_error() {
    let orders = start().await;
    let res = orders
        .post("/orders", r#"{"order_id":"o-2","card":"4242","items":[]}"#)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"error": "InvalidOrder", "cause": "The order failed validation"})
    );
    assert!(
        orders.charges.lock().unwrap().is_empty(),
        "nothing was charged"
    );
}

#[tokio::test]
async fn a_declined_card_is_caught_and_compensated() {
    let orders = start().await;
    let res = orders
        .post(
            "/orders",
            &ORDER.replace("4242", "4000").replace("o-1", "o-3"),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "PaymentFailed");
    assert_eq!(orders.charges.lock().unwrap()["o-3"], 2);
    let refund_logs = orders.stack.stack.logs().events("/aws/lambda/refund");
    assert!(
        refund_logs
            .iter()
            .any(|e| e.message.contains("compensating")),
        "the refund step ran"
    );
}

#[tokio::test]
async fn bad_input_is_rejected_before_anything_runs() {
    let orders = start().await;
    let res = orders.post("/orders", "{not json").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "Invalid request body: the execution input must be JSON"
    );
    assert!(orders.charges.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_standard_workflow_starts_and_keeps_its_history() {
    let orders = start().await;
    let res = orders
        .post("/orders/async", &ORDER.replace("o-1", "o-4"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    let arn = body["executionArn"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:execution:order_async:"),
        "{arn}"
    );
    assert!(body["startDate"].as_f64().unwrap() >= 1_700_000_000.0);
    let workflows = orders.stack.stack.workflows().clone();
    let wait = workflows.wait_for(&arn);
    tokio::pin!(wait);
    let execution = loop {
        tokio::select! {
            done = &mut wait => break done.unwrap(),
            _ = tokio::task::yield_now() => {
                if orders.clock.sleepers() > 0 {
                    orders.clock.advance(Duration::from_secs(1));
                }
            }
        }
    };
    assert_eq!(
        execution.output,
        Some(json!({"order_id": "o-4", "total": 2100, "charge_id": "ch-o-4-2", "items": 2}))
    );
    let history = workflows.get_execution_history(&arn).unwrap();
    let kinds: Vec<String> = history
        .iter()
        .map(|e| e.to_json()["type"].as_str().unwrap_or("").to_owned())
        .collect();
    for expected in [
        "ExecutionStarted",
        "TaskStateEntered",
        "MapStateEntered",
        "LambdaFunctionFailed",
        "ExecutionSucceeded",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "missing {expected} in {kinds:?}"
        );
    }
}
