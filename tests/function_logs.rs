//! CloudWatch-style function logs: START, the handler's own lines, END and REPORT under
//! `/aws/lambda/{name}`, in text or Lambda's JSON format; and one access-log line a request.

mod common;

use common::{quiet, shipped_registry, TestStack};
use serde_json::Value;

const TOML: &str = r#"
[functions.hello]
memory_mb = 256
log_format = "JSON"

[apis.a]
type = "http"
[[apis.a.routes]]
route = "GET /hello/{name}"
function = "hello"
[[apis.a.routes]]
route = "GET /echo"
function = "echo"
"#;

#[tokio::test]
async fn text_logs_have_start_handler_lines_end_and_report() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    assert_eq!(stack.get("/echo").await.status, 200);
    let events = stack.stack.logs().events("/aws/lambda/echo");
    let lines: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let id = lines[0]
        .strip_prefix("START RequestId: ")
        .unwrap()
        .strip_suffix(" Version: $LATEST")
        .unwrap();
    assert_eq!(lines[1], format!("END RequestId: {id}"));
    assert!(
        lines[2].starts_with(&format!("REPORT RequestId: {id}\tDuration: ")),
        "{}",
        lines[2]
    );
    // Billed Duration is the duration rounded up to whole ms (at least 1), whatever the load.
    let duration: f64 = field(lines[2], "Duration: ", " ms").parse().unwrap();
    let billed: u64 = field(lines[2], "Billed Duration: ", " ms").parse().unwrap();
    // The shown duration has two decimals, so the true value may round up one more ms.
    let shown = (duration.ceil() as u64).max(1);
    assert!(billed == shown || billed == shown + 1, "{}", lines[2]);
    assert!(lines[2].contains(" ms\tMemory Size: 128 MB\tMax Memory Used: "));
    assert!(
        lines[2].contains("\tInit Duration: "),
        "the first invocation is a cold start"
    );
    assert!(
        events[0].stream.contains("/[$LATEST]"),
        "stream name like 2024/01/01/[$LATEST]hex"
    );
}

#[tokio::test]
async fn json_log_format_mirrors_lambdas() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    assert_eq!(stack.get("/hello/grace").await.status, 200);
    let events = stack.stack.logs().events("/aws/lambda/hello");
    let lines: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.message).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "platform.start");
    assert_eq!(lines[0]["record"]["version"], "$LATEST");
    let id = lines[0]["record"]["requestId"].clone();
    assert_eq!(lines[1]["level"], "INFO");
    assert_eq!(lines[1]["message"], "greeting name=grace");
    assert_eq!(lines[1]["requestId"], id);
    assert_eq!(lines[2]["type"], "platform.report");
    assert_eq!(lines[2]["record"]["status"], "success");
    assert_eq!(lines[2]["record"]["metrics"]["memorySizeMB"], 256);
    assert_eq!(lines[2]["record"]["requestId"], id);
}

#[tokio::test]
async fn every_request_writes_one_access_log_line() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    let ok = stack.get("/hello/x").await;
    stack.get("/missing").await;
    let events = stack.stack.logs().events("/aws/apigateway/access-logs");
    assert_eq!(events.len(), 2);
    let first: Value = serde_json::from_str(&events[0].message).unwrap();
    assert_eq!(first["requestId"], ok.header("apigw-requestid").unwrap());
    assert_eq!(first["routeKey"], "GET /hello/{name}");
    assert_eq!(first["status"], 200);
    assert_eq!(first["httpMethod"], "GET");
    assert_eq!(first["ip"], "127.0.0.1");
    assert_eq!(first["responseLength"], ok.body.len());
    let second: Value = serde_json::from_str(&events[1].message).unwrap();
    assert_eq!(second["status"], 404);
}

/// The text between `after` and the next `until` in a REPORT line.
fn field<'a>(line: &'a str, after: &str, until: &str) -> &'a str {
    let start = line
        .find(after)
        .map(|i| i + after.len())
        .unwrap_or(line.len());
    let rest = &line[start..];
    &rest[..rest.find(until).unwrap_or(rest.len())]
}
