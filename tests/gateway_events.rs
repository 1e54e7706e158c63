//! Functions receive exactly the proxy events API Gateway sends (payload formats 1.0 and 2.0).
//! `echo` returns the event it got; the tests parse it with `aws_lambda_events` and compare
//! field by field with what was sent.

mod common;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use base64::Engine;
use common::{default_gateway_toml, quiet, shipped_registry, TestStack};
use serde_json::Value;

async fn default_stack() -> TestStack {
    TestStack::start(&quiet(&default_gateway_toml()), &shipped_registry()).await
}

/// The event `echo` received, as raw JSON.
fn echoed(res: &common::TestResponse) -> Value {
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

#[tokio::test]
async fn http_api_sends_a_v2_event() {
    let stack = default_stack().await;
    let res = stack
        .request(
            "POST",
            "/echo/a/b%20c?x=1&x=2&y=%C3%A9",
            &[
                ("content-type", "application/json"),
                ("cookie", "a=1; b=2"),
                ("x-multi", "one"),
                ("X-Multi", "two"),
            ],
            r#"{"not": "parsed"#,
        )
        .await;
    let raw = echoed(&res);
    let event: ApiGatewayV2httpRequest = serde_json::from_value(raw.clone()).expect("a v2 event");
    assert_eq!(event.version.as_deref(), Some("2.0"));
    assert_eq!(event.route_key.as_deref(), Some("ANY /echo/{proxy+}"));
    assert_eq!(event.raw_path.as_deref(), Some("/echo/a/b%20c"));
    assert_eq!(event.raw_query_string.as_deref(), Some("x=1&x=2&y=%C3%A9"));
    assert_eq!(
        event.cookies,
        Some(vec!["a=1".to_string(), "b=2".to_string()])
    );
    assert!(
        event.headers.get("cookie").is_none(),
        "cookies move out of headers"
    );
    assert_eq!(event.headers.get("x-multi").unwrap(), "one,two");
    assert_eq!(
        event.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(raw["queryStringParameters"]["x"], "1,2");
    assert_eq!(raw["queryStringParameters"]["y"], "é");
    assert_eq!(
        event.path_parameters.get("proxy").map(String::as_str),
        Some("a/b c")
    );
    // Malformed JSON bodies are passed through as the string body, as AWS does.
    assert_eq!(event.body.as_deref(), Some(r#"{"not": "parsed"#));
    assert!(!event.is_base64_encoded);
    let ctx = &event.request_context;
    assert_eq!(ctx.account_id.as_deref(), Some("123456789012"));
    assert_eq!(ctx.stage.as_deref(), Some("$default"));
    assert_eq!(ctx.route_key.as_deref(), Some("ANY /echo/{proxy+}"));
    assert_eq!(ctx.http.method, http::Method::POST);
    assert_eq!(ctx.http.path.as_deref(), Some("/echo/a/b%20c"));
    assert_eq!(ctx.http.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(ctx.request_id.as_deref(), res.header("apigw-requestid"));
    assert_eq!(ctx.apiid.as_ref().map(String::len), Some(10));
    assert_eq!(
        ctx.domain_name.as_deref(),
        Some(stack.addr.to_string().as_str())
    );
    assert_eq!(ctx.domain_prefix.as_deref(), Some("127"));
    assert!(ctx.time_epoch > 1_600_000_000_000);
    assert!(ctx.time.as_deref().unwrap().ends_with(" +0000"));
    // Only the members API Gateway sends: nothing from other payload kinds.
    let keys: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for absent in [
        "type",
        "methodArn",
        "httpMethod",
        "resource",
        "identitySource",
        "stageVariables",
    ] {
        assert!(
            !keys.contains(&absent),
            "unexpected member {absent} in {keys:?}"
        );
    }
}

#[tokio::test]
async fn binary_bodies_are_base64_encoded() {
    let stack = default_stack().await;
    let bytes: Vec<u8> = vec![0, 159, 146, 150, 255];
    let res = stack
        .request(
            "PUT",
            "/echo/bin",
            &[("content-type", "application/octet-stream")],
            bytes.clone(),
        )
        .await;
    let event: ApiGatewayV2httpRequest = serde_json::from_value(echoed(&res)).unwrap();
    assert!(event.is_base64_encoded);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(event.body.unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
}

#[tokio::test]
async fn rest_api_sends_a_v1_event_with_stage_and_variables() {
    let stack = default_stack().await;
    let res = stack
        .request(
            "DELETE",
            "/dev/echo/items/42?tag=a&tag=b",
            &[("x-multi", "one"), ("x-multi", "two")],
            "plain text",
        )
        .await;
    assert!(res.header("x-amzn-requestid").is_some());
    let raw = echoed(&res);
    let event: ApiGatewayProxyRequest = serde_json::from_value(raw.clone()).expect("a v1 event");
    assert_eq!(event.resource.as_deref(), Some("/echo/{proxy+}"));
    assert_eq!(event.path.as_deref(), Some("/echo/items/42"));
    assert_eq!(event.http_method, http::Method::DELETE);
    assert_eq!(
        event.headers.get("x-multi").unwrap(),
        "two",
        "headers keep the last value"
    );
    let multi: Vec<_> = event
        .multi_value_headers
        .get_all("x-multi")
        .iter()
        .collect();
    assert_eq!(multi, vec!["one", "two"]);
    assert_eq!(raw["queryStringParameters"]["tag"], "b");
    assert_eq!(
        raw["multiValueQueryStringParameters"]["tag"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(
        event.path_parameters.get("proxy").map(String::as_str),
        Some("items/42")
    );
    assert_eq!(
        event.stage_variables.get("backend").map(String::as_str),
        Some("local")
    );
    assert_eq!(event.body.as_deref(), Some("plain text"));
    let ctx = &event.request_context;
    assert_eq!(ctx.stage.as_deref(), Some("dev"));
    assert_eq!(ctx.path.as_deref(), Some("/dev/echo/items/42"));
    assert_eq!(ctx.resource_path.as_deref(), Some("/echo/{proxy+}"));
    assert_eq!(ctx.http_method, http::Method::DELETE);
    assert_eq!(ctx.identity.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(ctx.request_id.as_deref(), res.header("x-amzn-requestid"));
    assert_eq!(
        raw["requestContext"]["extendedRequestId"],
        raw["requestContext"]["requestId"]
    );
}

#[tokio::test]
async fn v1_absent_members_are_null_as_aws_sends_them() {
    let stack = default_stack().await;
    let raw = echoed(&stack.get("/dev/echo/x").await);
    assert_eq!(raw["queryStringParameters"], Value::Null);
    assert_eq!(raw["multiValueQueryStringParameters"], Value::Null);
    assert_eq!(raw["body"], Value::Null);
    assert_eq!(raw["isBase64Encoded"], false);
}

#[tokio::test]
async fn typed_handlers_receive_path_parameters() {
    let stack = default_stack().await;
    let res = stack.get("/hello/ada").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json(), serde_json::json!({"message": "Hello, ada!"}));
    assert!(res
        .header("x-amzn-trace-id")
        .unwrap()
        .starts_with("Root=1-"));
}

#[tokio::test]
async fn incoming_trace_ids_are_kept() {
    let stack = default_stack().await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let res = stack
        .request("GET", "/hello/x", &[("x-amzn-trace-id", trace)], "")
        .await;
    assert_eq!(res.header("x-amzn-trace-id"), Some(trace));
}
