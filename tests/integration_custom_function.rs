//! Lambda custom (non-proxy) integrations over real HTTP: the function receives exactly
//! what the request template renders (not a proxy event), its errors are mapped to 400 /
//! 404 / 500 by selection pattern on `errorMessage`, an unmatched error gets the default
//! response as on AWS, and `passthrough_behavior` decides about unmapped media types.

mod common;

use common::{quiet, TestStack};
use lambda_runtime::LambdaEvent;
use portico_runtime::Registry;
use serde_json::{json, Value};

const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev.variables]
region = "eu-west-1"

[[apis.shop.routes]]
route = "GET /orders/{id}"
function = "orders"
[apis.shop.routes.integration]
request_templates = { "application/json" = '''
{
  "id": "$input.params('id')",
  "verbose": "$input.params('verbose')",
  "stage": "$context.stage",
  "region": "$stageVariables.region"
}
''' }

[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = { "method.response.header.X-Order-Id" = "integration.response.body.id", "method.response.header.X-Api" = "'shop'" }
response_templates = { "application/json" = '''
#set($order = $input.path('$'))
{"order": "$order.id", "name": "$util.escapeJavaScript($order.name)", "lines": $order.lines.size()}
''' }

[[apis.shop.routes.integration.responses]]
selection_pattern = '.*not found.*'
status_code = 404
response_parameters = { "method.response.header.X-Error" = "'not-found'" }
response_templates = { "application/json" = '''{"message": "$input.path('$.errorMessage')"}''' }

[[apis.shop.routes.integration.responses]]
selection_pattern = '\{.*"httpStatus":400.*\}'
status_code = 400
response_templates = { "application/json" = '''
#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{"type": "$errorMessageObj.errorType", "message": "$errorMessageObj.message", "requestId": "$context.requestId"}
''' }

[[apis.shop.routes.integration.responses]]
selection_pattern = 'Internal:.*'
status_code = 500
response_templates = { "application/json" = '{"message": "Internal error"}' }

[[apis.shop.routes]]
route = "GET /only-errors/{id}"
function = "orders"
[apis.shop.routes.integration]
request_templates = { "application/json" = '''{"id": "$input.params('id')"}''' }
[[apis.shop.routes.integration.responses]]
selection_pattern = '.*not found.*'
status_code = 404

[[apis.shop.routes]]
route = "POST /echo"
function = "echo_event"
[apis.shop.routes.integration]
request_templates = { "application/json" = '''{"name": "$input.path('$.name')", "method": "$context.httpMethod", "agent": "$context.identity.userAgent"}''' }

[[apis.shop.routes]]
route = "POST /strict"
function = "echo_event"
[apis.shop.routes.integration]
passthrough_behavior = "NEVER"
request_templates = { "application/json" = '''{"wrapped": $input.json('$')}''' }

[[apis.shop.routes]]
route = "POST /templated"
function = "echo_event"
[apis.shop.routes.integration]
passthrough_behavior = "WHEN_NO_TEMPLATES"
request_templates = { "application/xml" = '{"xml": "$util.escapeJavaScript($input.body)"}' }

[[apis.shop.routes]]
route = "POST /raw"
function = "echo_event"
integration = { passthrough_behavior = "WHEN_NO_TEMPLATES" }
"#;

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register_fn("orders", |event: LambdaEvent<Value>| async move {
        let id = event.payload["id"].as_str().unwrap_or_default().to_owned();
        match id.as_str() {
            "missing" => Err(format!("Order not found: {id}")),
            "bad" => Err(
                json!({"errorType": "BadRequest", "httpStatus": 400, "message": "id is invalid"})
                    .to_string(),
            ),
            "crash" => Err("Internal: database unavailable".to_owned()),
            "odd" => Err("something unexpected".to_owned()),
            _ => Ok(json!({"id": id, "name": "Widget \"XL\"", "lines": [1, 2, 3], "event": event.payload})),
        }
    });
    registry.register_fn("echo_event", |event: LambdaEvent<Value>| async move {
        match event.payload.get("fail").and_then(Value::as_str) {
            Some(message) => Err(message.to_owned()),
            None => Ok(event.payload),
        }
    });
    registry
}

async fn stack() -> TestStack {
    TestStack::start(&quiet(TOML), &registry()).await
}

#[tokio::test]
async fn success_goes_through_the_default_response_and_its_template() {
    let stack = stack().await;
    let res = stack.get("/dev/orders/42?verbose=yes").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("x-order-id"), Some("42"));
    assert_eq!(res.header("x-api"), Some("shop"));
    // `$util.escapeJavaScript` keeps the quotes inside the JSON string.
    assert_eq!(
        res.json(),
        json!({"order": "42", "name": "Widget \"XL\"", "lines": 3})
    );
}

#[tokio::test]
async fn the_function_receives_exactly_the_template_output() {
    let stack = stack().await;
    let res = stack
        .request(
            "POST",
            "/dev/echo",
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("user-agent", "curl/8"),
            ],
            r#"{"name": "rex", "extra": true}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // Not a proxy event: no httpMethod, headers or requestContext, only the mapped fields.
    assert_eq!(
        res.json(),
        json!({"name": "rex", "method": "POST", "agent": "curl/8"})
    );
}

#[tokio::test]
async fn function_errors_are_mapped_by_selection_pattern() {
    let stack = stack().await;
    let res = stack.get("/dev/orders/missing").await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(res.header("x-error"), Some("not-found"));
    assert_eq!(res.json(), json!({"message": "Order not found: missing"}));

    let res = stack.get("/dev/orders/bad").await;
    assert_eq!(res.status, 400, "{}", res.text());
    let body = res.json();
    assert_eq!(body["type"], "BadRequest");
    assert_eq!(body["message"], "id is invalid");
    assert_eq!(
        Some(body["requestId"].as_str().unwrap()),
        res.header("x-amzn-requestid")
    );

    let res = stack.get("/dev/orders/crash").await;
    assert_eq!(res.status, 500, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "Internal error"}));
}

#[tokio::test]
async fn an_unmatched_error_gets_the_default_response_as_on_aws() {
    let stack = stack().await;
    // The pattern must match the whole message: `.*not found.*` does, `Internal:.*` does
    // not match "something unexpected", so the default 200 response answers.
    let res = stack.get("/dev/orders/odd").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-api"), Some("shop"));

    // Without responses, the default 200 passes the Lambda error body through.
    let res = stack
        .request("POST", "/dev/echo", &[], r#"{"name": "x"}"#)
        .await;
    assert_eq!(res.status, 200);
    let res = stack
        .request(
            "POST",
            "/dev/raw",
            &[("content-type", "application/json")],
            r#"{"fail": "disk full"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["errorMessage"], "disk full");
    assert!(res.json()["errorType"].is_string());
}

#[tokio::test]
async fn without_a_default_response_an_unmatched_answer_is_500() {
    let stack = stack().await;
    let res = stack.get("/dev/only-errors/missing").await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(res.json()["errorMessage"], "Order not found: missing");
    for id in ["odd", "7"] {
        let res = stack.get(&format!("/dev/only-errors/{id}")).await;
        assert_eq!(res.status, 500, "{}", res.text());
        assert_eq!(res.json(), json!({"message": "Internal server error"}));
    }
}

#[tokio::test]
async fn passthrough_behavior_decides_about_unmapped_media_types() {
    let stack = stack().await;
    let send = |path: &'static str, content_type: &'static str, body: &'static str| {
        let client = stack.clone_client();
        async move {
            client
                .request("POST", path, &[("content-type", content_type)], body)
                .await
        }
    };
    // NEVER: a type without a template is refused, one with a template is mapped.
    let res = send("/dev/strict", "text/plain", r#"{"a": 1}"#).await;
    assert_eq!(res.status, 415);
    assert_eq!(res.json(), json!({"message": "Unsupported Media Type"}));
    let res = send("/dev/strict", "application/json", r#"{"a": 1}"#).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"wrapped": {"a": 1}}));

    // WHEN_NO_TEMPLATES with templates: an unmapped type is refused, a mapped one is not.
    let res = send("/dev/templated", "application/json", r#"{"a": 1}"#).await;
    assert_eq!(res.status, 415);
    let res = send("/dev/templated", "application/xml", "<a>1</a>").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"xml": "<a>1</a>"}));

    // WHEN_NO_TEMPLATES without templates: the body passes through unchanged.
    let res = send("/dev/raw", "text/plain", r#"{"b": [1, 2]}"#).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"b": [1, 2]}));

    // WHEN_NO_MATCH (the default): passed through, but a function needs JSON.
    let res = send("/dev/echo", "text/plain", "not json").await;
    assert_eq!(res.status, 400, "{}", res.text());
    let message = res.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("Could not parse request body into json: "),
        "{message}"
    );
    let res = send("/dev/echo", "text/plain", r#"{"c": 3}"#).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"c": 3}));
}

#[tokio::test]
async fn the_readme_example_loads_and_maps_errors() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("### Non-proxy integrations").expect("section")..];
    let start = section.find("```toml\n").expect("toml block") + 8;
    let end = start + section[start..].find("```").expect("block end");
    let stack = TestStack::start(&quiet(&section[start..end]), &registry()).await;
    let res = stack.get("/dev/orders/7").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-order-id"), Some("7"));
    assert_eq!(res.json()["event"], json!({"id": "7", "stage": "dev"}));
    let res = stack.get("/dev/orders/missing").await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "Order not found: missing"}));
    let res = stack.get("/dev/orders/crash").await;
    assert_eq!(res.status, 500, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
}
