//! Real Lambda binaries over the Runtime API: functions built with AWS's `lambda_runtime` and
//! `lambda_http` (tests/lambda-fixtures, built here with cargo) run as external processes,
//! called through Invoke and through the gateway with both API Gateway payload formats.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use common::{quiet, TestResponse, TestStack};
use portico_runtime::{Clock, Registry};
use serde_json::json;

/// Builds the fixture crate once per test binary and returns the path of one of its programs.
fn fixture(bin: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = root.join("target/lambda-fixtures");
        let status =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--quiet", "--manifest-path"])
                .arg(root.join("tests/lambda-fixtures/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("cargo runs");
        assert!(status.success(), "building tests/lambda-fixtures failed");
        target.join("debug")
    });
    dir.join(bin)
}

fn toml() -> String {
    let echo = fixture("echo-runtime").display().to_string();
    let http = fixture("http-runtime").display().to_string();
    format!(
        r#"
[functions.echo]
command = ["{echo}"]
memory_mb = 512
idle_timeout = "1m"
environment = {{ COLOR = "amber" }}

[functions.broken]
command = ["{echo}"]
environment = {{ FIXTURE_INIT_FAIL = "1" }}

[functions.web]
command = ["{http}"]

[apis.http]
type = "http"
[[apis.http.routes]]
route = "POST /hello/{{name}}"
function = "web"
[[apis.http.routes]]
route = "GET /echo"
function = "echo"

[apis.rest]
type = "rest"
base_path = "/r"
[apis.rest.stages.v1]
[[apis.rest.routes]]
route = "POST /hello/{{name}}"
function = "web"
"#
    )
}

async fn start() -> (TestStack, Clock) {
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let toml = tokio::task::spawn_blocking(toml).await.unwrap();
    (
        TestStack::start_with_clock(&quiet(&toml), &Registry::new(), clock.clone()).await,
        clock,
    )
}

async fn invoke(
    stack: &TestStack,
    name: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut h = vec![("x-amz-log-type", "Tail")];
    h.extend_from_slice(headers);
    stack
        .request(
            "POST",
            &format!("/2015-03-31/functions/{name}/invocations"),
            &h,
            body.to_owned(),
        )
        .await
}

fn tail(res: &TestResponse) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(res.header("x-amz-log-result").expect("log tail"))
        .unwrap();
    String::from_utf8(raw).unwrap()
}

#[tokio::test]
async fn a_lambda_runtime_binary_serves_invoke_warm_after_its_cold_start() {
    let (stack, _clock) = start().await;
    let first = invoke(&stack, "echo", r#"{"n": 1}"#, &[]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let body = first.json();
    assert_eq!(body["echo"], json!({"n": 1}));
    assert_eq!(body["function"], "echo");
    assert_eq!(body["memory"], 512);
    assert_eq!(body["version"], "$LATEST");
    assert_eq!(body["color"], "amber");
    assert_eq!(body["handler"], "echo-runtime");
    assert_eq!(
        body["request_id"],
        first.header("x-amzn-requestid").unwrap()
    );
    let log = tail(&first);
    assert!(
        log.contains("Init Duration: "),
        "the process start is the cold start:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "handling {}",
            body["request_id"].as_str().unwrap()
        )),
        "{log}"
    );
    let second = invoke(&stack, "echo", r#"{"n": 2}"#, &[]).await;
    assert_eq!(
        second.json()["pid"],
        body["pid"],
        "the warm process serves again"
    );
    assert!(!tail(&second).contains("Init Duration"));
    // Through the gateway too.
    let via_gateway = stack.get("/echo").await;
    assert_eq!(via_gateway.status, 200);
    assert_eq!(via_gateway.json()["echo"]["rawPath"], "/echo");
}

#[tokio::test]
async fn errors_are_reported_and_crashes_replace_the_process() {
    let (stack, _clock) = start().await;
    let ok = invoke(&stack, "echo", "{}", &[]).await;
    let pid = ok.json()["pid"].clone();
    let failed = invoke(&stack, "echo", r#"{"fail": true}"#, &[]).await;
    assert_eq!(failed.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(failed.json()["errorMessage"], "asked to fail");
    assert_eq!(
        invoke(&stack, "echo", "{}", &[]).await.json()["pid"],
        pid,
        "an error keeps the process"
    );
    let crashed = invoke(&stack, "echo", r#"{"crash": true}"#, &[]).await;
    assert_eq!(crashed.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(crashed.json()["errorType"], "Runtime.ExitError");
    let next = invoke(&stack, "echo", "{}", &[]).await;
    assert_eq!(next.status, 200);
    assert_ne!(next.json()["pid"], pid, "a crashed process is replaced");
    assert!(tail(&next).contains("Init Duration"));
}

#[tokio::test]
async fn concurrency_means_several_processes_and_idle_ones_are_stopped() {
    let (stack, clock) = start().await;
    let a = invoke(&stack, "echo", "{}", &[]).await.json()["pid"]
        .as_u64()
        .unwrap();
    let b = invoke(&stack, "echo", "{}", &[("x-portico-cold-start", "force")])
        .await
        .json()["pid"]
        .as_u64()
        .unwrap();
    assert_ne!(a, b);
    let function = stack.stack.function("echo").unwrap();
    assert_eq!(function.warm_instances(), 2);
    clock.advance(Duration::from_secs(60));
    while function.warm_instances() > 0 {
        tokio::task::yield_now().await;
    }
    for pid in [a, b] {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let stopped = tokio::time::timeout(Duration::from_secs(10), async {
            while proc.exists() {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(stopped.is_ok(), "idle process {pid} was stopped");
    }
}

#[tokio::test]
async fn a_runtime_that_fails_init_fails_the_invocation_with_its_output_logged() {
    let (stack, _clock) = start().await;
    let res = invoke(&stack, "broken", "{}", &[]).await;
    assert_eq!(res.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(res.json()["errorType"], "Runtime.ExitError");
    let logs = stack.stack.logs().events("/aws/lambda/broken");
    assert!(
        logs.iter()
            .any(|e| e.message == "init is failing on purpose"),
        "{logs:?}"
    );
}

#[tokio::test]
async fn lambda_http_parses_both_payload_formats_through_routes() {
    let (stack, _clock) = start().await;
    let v2 = stack.request("POST", "/hello/world?q=1", &[], "hi").await;
    assert_eq!(v2.status, 201, "{}", v2.text());
    assert_eq!(v2.header("x-fixture"), Some("v2"));
    assert_eq!(v2.text(), "v2 POST /hello/world name=world q=1 body=hi");
    let v1 = stack
        .request("POST", "/r/v1/hello/rest?q=2", &[], "yo")
        .await;
    assert_eq!(v1.status, 201, "{}", v1.text());
    assert_eq!(v1.header("x-fixture"), Some("v1"));
    // lambda_http puts the stage in front of a REST event's `path`, as it does on AWS.
    assert_eq!(v1.text(), "v1 POST /v1/hello/rest name=rest q=2 body=yo");
}
