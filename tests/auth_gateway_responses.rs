//! Gateway responses: errors the gateway produces, customized per API (status, headers, body
//! template), with AWS's defaults everywhere else.

mod common;

use common::{quiet, shipped_registry, TestStack};
use serde_json::json;

const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev]
[apis.shop.authorizers.tok]
type = "token"
function = "echo"
[apis.shop.gateway_responses.UNAUTHORIZED]
status = 401
headers = { "www-authenticate" = "Bearer realm=\"shop\"" }
body = '{"error":$context.error.messageString,"type":"$context.error.responseType","requestId":"$context.requestId","stage":"$context.stage"}'
[apis.shop.gateway_responses.DEFAULT_4XX]
headers = { "x-custom" = "yes" }
[[apis.shop.routes]]
route = "GET /private"
function = "echo"
authorizer = "tok"

[apis.plain]
type = "rest"
base_path = "/plain"
[apis.plain.stages.dev]
[apis.plain.authorizers.tok]
type = "token"
function = "echo"
[[apis.plain.routes]]
route = "GET /private"
function = "echo"
authorizer = "tok"
"#;

#[tokio::test]
async fn customized_responses_replace_status_headers_and_body() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    let res = stack.get("/dev/private").await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer realm=\"shop\"")
    );
    let body = res.json();
    let request_id = res
        .header("x-amzn-requestid")
        .expect("request id")
        .to_owned();
    assert_eq!(
        body,
        json!({"error": "Unauthorized", "type": "UNAUTHORIZED", "requestId": request_id, "stage": "dev"})
    );
    // MISSING_AUTHENTICATION_TOKEN is not customized: DEFAULT_4XX applies, body stays AWS's.
    let missing = stack.get("/dev/nothing").await;
    assert_eq!(missing.status, 403);
    assert_eq!(missing.header("x-custom"), Some("yes"));
    assert_eq!(
        missing.json(),
        json!({"message": "Missing Authentication Token"})
    );
    // Another API keeps AWS's defaults.
    let plain = stack.get("/plain/dev/private").await;
    assert_eq!(plain.status, 401);
    assert_eq!(plain.json(), json!({"message": "Unauthorized"}));
    assert_eq!(plain.header("www-authenticate"), None);
}

#[tokio::test]
async fn gateway_response_config_errors() {
    let bad = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev]
[apis.shop.gateway_responses.NOT_A_TYPE]
status = 401
[apis.shop.gateway_responses.THROTTLED]
status = 99
headers = { "bad header" = "x" }
[[apis.shop.routes]]
route = "GET /x"
function = "echo"
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &shipped_registry())
        .expect_err("invalid")
        .to_string();
    assert!(
        errors.contains("gw.toml:5:1: api `shop`: gateway response `NOT_A_TYPE` is not one of"),
        "{errors}"
    );
    assert!(
        errors.contains(
            "gw.toml:8:10: api `shop`: gateway response `THROTTLED`: `status` must be 200 to 599"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("header `bad header` is not a valid header"),
        "{errors}"
    );
}
