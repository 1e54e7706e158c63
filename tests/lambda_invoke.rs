//! Lambda's Invoke API over HTTP: invocation types, errors, log tails, and bad input.

mod common;

use async_trait::async_trait;
use base64::Engine;
use common::{quiet, TestStack};
use portico_runtime::{Context, FunctionError, Handler, LambdaEvent, Registry};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Deserialize)]
struct Order {
    id: u32,
    qty: u32,
}

#[derive(Serialize)]
struct Total {
    id: u32,
    total: u32,
    function: String,
    deadline_set: bool,
}

async fn price(event: LambdaEvent<Order>) -> Result<Total, lambda_runtime::Error> {
    tracing::info!(id = event.payload.id, "pricing");
    if event.payload.qty == 0 {
        return Err("quantity must be positive".into());
    }
    Ok(Total {
        id: event.payload.id,
        total: event.payload.qty * 3,
        function: event.context.env_config.function_name.clone(),
        deadline_set: event.context.deadline > 0,
    })
}

struct Notify(mpsc::UnboundedSender<(Value, String)>);

#[async_trait]
impl Handler for Notify {
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, FunctionError> {
        let _ = self
            .0
            .send((event, ctx.env("COLOR").unwrap_or("").to_owned()));
        Ok(json!("done"))
    }
}

const TOML: &str = r#"
[functions.notify]
environment = { COLOR = "blue" }
"#;

fn registry(tx: mpsc::UnboundedSender<(Value, String)>) -> Registry {
    let mut r = Registry::new();
    r.register_fn("price", price).register("notify", Notify(tx));
    r
}

async fn start() -> (TestStack, mpsc::UnboundedReceiver<(Value, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (TestStack::start(&quiet(TOML), &registry(tx)).await, rx)
}

const PRICE: &str = "/2015-03-31/functions/price/invocations";

#[tokio::test]
async fn request_response_returns_the_result() {
    let (stack, _rx) = start().await;
    let res = stack
        .request("POST", PRICE, &[], r#"{"id": 7, "qty": 2}"#)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"id": 7, "total": 6, "function": "price", "deadline_set": true})
    );
    assert_eq!(res.header("x-amz-executed-version"), Some("$LATEST"));
    assert!(res.header("x-amz-function-error").is_none());
    assert_eq!(res.header("x-amzn-requestid").map(str::len), Some(36));
}

#[tokio::test]
async fn every_function_name_form_reaches_the_function() {
    let (stack, _rx) = start().await;
    for name in [
        "price",
        "price:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:price",
        "123456789012:function:price",
    ] {
        let path = format!("/2015-03-31/functions/{name}/invocations");
        let res = stack
            .request("POST", &path, &[], r#"{"id":1,"qty":1}"#)
            .await;
        assert_eq!(res.status, 200, "{name}: {}", res.text());
    }
    let res = stack
        .request(
            "POST",
            &format!("{PRICE}?Qualifier=%24LATEST"),
            &[],
            r#"{"id":1,"qty":1}"#,
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn handler_errors_are_reported_the_lambda_way() {
    let (stack, _rx) = start().await;
    let res = stack
        .request("POST", PRICE, &[], r#"{"id": 7, "qty": 0}"#)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-amz-function-error"), Some("Unhandled"));
    let body = res.json();
    assert_eq!(body["errorMessage"], "quantity must be positive");
    assert!(body["errorType"].is_string());
    // An event the handler's type cannot take is an error of the invocation, not a crash.
    let res = stack.request("POST", PRICE, &[], r#"{"id": "x"}"#).await;
    assert_eq!(res.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(res.json()["errorType"], "Runtime.UnmarshalError");
}

#[tokio::test]
async fn log_tail_returns_this_invocations_log() {
    let (stack, _rx) = start().await;
    let res = stack
        .request(
            "POST",
            PRICE,
            &[("x-amz-log-type", "Tail")],
            r#"{"id": 9, "qty": 1}"#,
        )
        .await;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(res.header("x-amz-log-result").unwrap())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    let request_id = res.header("x-amzn-requestid").unwrap();
    assert!(
        tail.starts_with(&format!("START RequestId: {request_id} Version: $LATEST")),
        "{tail}"
    );
    assert!(tail.contains("INFO\tpricing id=9"), "{tail}");
    assert!(tail.contains(&format!("END RequestId: {request_id}")));
    assert!(tail.contains(&format!("REPORT RequestId: {request_id}\tDuration: ")));
    assert!(tail.contains("Memory Size: 128 MB"));
    assert!(tail.len() <= 4096);
}

#[tokio::test]
async fn event_invocations_return_202_and_run_in_the_background() {
    let (stack, mut rx) = start().await;
    let res = stack
        .request(
            "POST",
            "/2015-03-31/functions/notify/invocations",
            &[("x-amz-invocation-type", "Event")],
            r#"{"n": 1}"#,
        )
        .await;
    assert_eq!(res.status, 202);
    assert!(res.body.is_empty());
    let (event, color) = rx.recv().await.unwrap();
    assert_eq!(event, json!({"n": 1}));
    assert_eq!(
        color, "blue",
        "environment reaches the handler through Context"
    );
}

#[tokio::test]
async fn dry_run_validates_without_running() {
    let (stack, mut rx) = start().await;
    let res = stack
        .request(
            "POST",
            "/2015-03-31/functions/notify/invocations",
            &[("x-amz-invocation-type", "DryRun")],
            "{}",
        )
        .await;
    assert_eq!(res.status, 204);
    assert!(rx.try_recv().is_err(), "DryRun must not run the function");
}

#[tokio::test]
async fn bad_requests_get_aws_errors_and_run_nothing() {
    let (stack, mut rx) = start().await;
    let notify = "/2015-03-31/functions/notify/invocations";
    let res = stack
        .request("POST", "/2015-03-31/functions/nope/invocations", &[], "{}")
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        res.json()["message"],
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    );

    let res = stack.request("POST", notify, &[], "{not json").await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (400, Some("InvalidRequestContentException"))
    );

    let res = stack
        .request("POST", notify, &[("x-amz-invocation-type", "Later")], "{}")
        .await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (400, Some("ValidationException"))
    );

    let res = stack
        .request("POST", notify, &[("x-amz-client-context", "%%%")], "{}")
        .await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (400, Some("InvalidRequestContentException"))
    );

    let res = stack
        .request("POST", &format!("{notify}?Qualifier=7"), &[], "{}")
        .await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (404, Some("ResourceNotFoundException"))
    );

    let res = stack
        .request("POST", "/2015-03-31/functions/a%20b/invocations", &[], "{}")
        .await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (400, Some("ValidationException"))
    );

    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(6 * 1024 * 1024));
    let res = stack.request("POST", notify, &[], big).await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (413, Some("RequestTooLargeException"))
    );

    let res = stack
        .request("GET", "/2015-03-31/functions/", &[], "")
        .await;
    assert_eq!(res.status, 404);
    assert!(rx.try_recv().is_err(), "no bad request ran the function");
}

#[tokio::test]
async fn empty_payload_is_null_and_client_context_is_decoded() {
    let (stack, mut rx) = start().await;
    let cc = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"k":"v"},"env":{},"client":{"installation_id":"i","app_title":"t","app_version_name":"1","app_version_code":"1","app_package_name":"p"}}"#);
    let res = stack
        .request(
            "POST",
            "/2015-03-31/functions/notify/invocations",
            &[("x-amz-client-context", &cc)],
            "",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!("done"));
    assert_eq!(rx.recv().await.unwrap().0, Value::Null);
}
