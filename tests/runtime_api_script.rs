//! The Runtime API with a runtime written in shell and curl (AWS's custom-runtime tutorial
//! `bootstrap`): any language works, headers are Lambda's, `/init/error` fails the init, and
//! the API refuses unknown request ids.

mod common;

use common::{quiet, TestStack};
use portico_runtime::Registry;
use serde_json::json;

/// AWS's tutorial bootstrap, answering with the event, its request id header and the API.
const BOOTSTRAP: &str = r#"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  ARN=$(grep -Fi Lambda-Runtime-Invoked-Function-Arn "$HEADERS" | tr -d '[:space:]' | cut -d: -f2-)
  echo "script saw $REQUEST_ID"
  curl -sS -o /dev/null -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" \
    -d "{\"event\": $EVENT, \"id\": \"$REQUEST_ID\", \"arn\": \"$ARN\", \"api\": \"$AWS_LAMBDA_RUNTIME_API\", \"fn\": \"$AWS_LAMBDA_FUNCTION_NAME\"}"
done
"#;

const INIT_ERROR: &str = r#"
curl -sS -o /dev/null -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/init/error" \
  -H 'Lambda-Runtime-Function-Error-Type: Init.Config' \
  -d '{"errorMessage": "TABLE is not set", "errorType": "Init.Config"}'
exec sleep 30
"#;

fn toml() -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap();
    format!(
        "[functions.script]\ncommand = [\"bash\", \"-c\", {}]\n\n[functions.noinit]\ncommand = [\"bash\", \"-c\", {}]\n",
        quote(BOOTSTRAP),
        quote(INIT_ERROR)
    )
}

async fn invoke(stack: &TestStack, name: &str, body: &str) -> common::TestResponse {
    stack
        .request(
            "POST",
            &format!("/2015-03-31/functions/{name}/invocations"),
            &[],
            body.to_owned(),
        )
        .await
}

#[tokio::test]
async fn a_shell_runtime_is_served_with_lambdas_headers() {
    let stack = TestStack::start(&quiet(&toml()), &Registry::new()).await;
    let res = invoke(&stack, "script", r#"{"hello": "sh"}"#).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["event"], json!({"hello": "sh"}));
    assert_eq!(body["id"], res.header("x-amzn-requestid").unwrap());
    assert_eq!(
        body["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:script"
    );
    assert_eq!(body["fn"], "script");
    let logs = stack.stack.logs().events("/aws/lambda/script");
    let saw = format!("script saw {}", body["id"].as_str().unwrap());
    assert!(logs.iter().any(|e| e.message.contains(&saw)), "{logs:?}");
    // The Runtime API refuses an id it never handed out.
    let url = format!(
        "http://{}/2018-06-01/runtime/invocation/bogus/response",
        body["api"].as_str().unwrap()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-s", "-X", "POST", "-d", "{}", &url])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let refused: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refused["errorType"], "InvalidRequestID");
}

#[tokio::test]
async fn init_error_fails_the_invocation_with_the_reported_error() {
    let stack = TestStack::start(&quiet(&toml()), &Registry::new()).await;
    let res = invoke(&stack, "noinit", "{}").await;
    assert_eq!(res.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(
        res.json(),
        json!({"errorMessage": "TABLE is not set", "errorType": "Init.Config"})
    );
    assert_eq!(stack.stack.function("noinit").unwrap().warm_instances(), 0);
}
