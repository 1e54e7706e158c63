//! Per-stage access logs in AWS's presets and custom `$context` formats, to stdout or a file,
//! and execution logs at ERROR or INFO; bad settings are config errors at file:line:col.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::{async_trait, Clock, Config, Context, FunctionError, Handler, Registry};
use serde_json::Value;

struct Boom;

#[async_trait]
impl Handler for Boom {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Err(FunctionError::unhandled("Boom", "kaboom"))
    }
}

fn registry() -> Registry {
    let mut registry = shipped_registry();
    registry.register("boom", Boom);
    registry
}

const START: u64 = 1_700_000_000;

fn toml(access_log: &str, execution_log: &str) -> String {
    format!(
        r#"
[apis.shop]
type = "rest"
[apis.shop.stages.prod]
access_log = {access_log}
execution_log = "{execution_log}"
[[apis.shop.routes]]
route = "GET /items/{{id}}"
function = "echo"
[[apis.shop.routes]]
route = "GET /gone"
function = "boom"
"#
    )
}

async fn start(access_log: &str, execution_log: &str) -> TestStack {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(START));
    TestStack::start_with_clock(&quiet(&toml(access_log, execution_log)), &registry(), clock).await
}

fn group_name(stack: &TestStack, prefix: &str) -> String {
    stack
        .stack
        .logs()
        .group_names()
        .into_iter()
        .find(|g| g.starts_with(prefix) && g.ends_with("/prod"))
        .expect("stage log group")
}

fn log_lines(stack: &TestStack, prefix: &str) -> Vec<String> {
    let name = group_name(stack, prefix);
    stack
        .stack
        .logs()
        .events(&name)
        .into_iter()
        .map(|e| e.message)
        .collect()
}

async fn get_item(stack: &TestStack) -> String {
    let res = stack
        .request(
            "GET",
            "/prod/items/42",
            &[
                ("user-agent", "curl/8.5"),
                ("x-amzn-trace-id", "Root=1-abc"),
            ],
            "",
        )
        .await;
    assert_eq!(res.status, 200);
    res.header("x-amzn-requestid").unwrap().to_owned()
}

#[tokio::test]
async fn clf_preset() {
    let stack = start(r#"{ format = "CLF" }"#, "ERROR").await;
    let res = stack.get("/prod/items/42").await;
    let (id, len) = (res.header("x-amzn-requestid").unwrap(), res.body.len());
    let lines = log_lines(&stack, "API-Gateway-Access-Logs_");
    assert_eq!(
        lines[0],
        format!("127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET /items/{{id}} HTTP/1.1\" 200 {len} {id}")
    );
}

#[tokio::test]
async fn json_xml_and_csv_presets() {
    let stack = start(r#"{ format = "JSON" }"#, "ERROR").await;
    let id = get_item(&stack).await;
    let line = &log_lines(&stack, "API-Gateway-Access-Logs_")[0];
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["requestId"], id.as_str());
    assert_eq!(v["status"], "200");
    assert_eq!(v["resourcePath"], "/items/{id}");
    assert_eq!(v["caller"], "-");

    let stack = start(r#"{ format = "XML" }"#, "ERROR").await;
    let id = get_item(&stack).await;
    let line = &log_lines(&stack, "API-Gateway-Access-Logs_")[0];
    assert!(
        line.starts_with(&format!("<request id=\"{id}\"> <ip>127.0.0.1</ip>")),
        "{line}"
    );
    assert!(line.contains("<status>200</status>"), "{line}");

    let stack = start(r#"{ format = "CSV" }"#, "ERROR").await;
    let id = get_item(&stack).await;
    let line = &log_lines(&stack, "API-Gateway-Access-Logs_")[0];
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields[4], "GET");
    assert_eq!(fields[5], "/items/{id}");
    assert_eq!(fields[7], "200");
    assert_eq!(fields[9], id);
}

#[tokio::test]
async fn custom_format_with_context_variables() {
    let format = r#"{ format = "$context.requestId $context.httpMethod $context.path $context.routeKey $context.status $context.identity.userAgent $context.stage $context.xrayTraceId $context.error.message $context.authorizer.principalId" }"#;
    let stack = start(format, "ERROR").await;
    let id = get_item(&stack).await;
    let gone = stack.get("/prod/gone").await;
    assert_eq!(gone.status, 502);
    let gone_id = gone.header("x-amzn-requestid").unwrap().to_owned();
    let lines = log_lines(&stack, "API-Gateway-Access-Logs_");
    assert_eq!(
        lines[0],
        format!("{id} GET /prod/items/42 GET /items/{{id}} 200 curl/8.5 prod Root=1-abc - -")
    );
    assert!(
        lines[1].starts_with(&format!(
            "{gone_id} GET /prod/gone GET /gone 502 - prod Root="
        )),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("kaboom"), "{}", lines[1]);
}

#[tokio::test]
async fn file_destination_gets_the_lines() {
    let path = std::env::temp_dir().join(format!("portico-access-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let stack = start(
        &format!(
            r#"{{ format = "$context.requestId $context.status", destination = "file:{}" }}"#,
            path.display()
        ),
        "ERROR",
    )
    .await;
    let a = get_item(&stack).await;
    let b = get_item(&stack).await;
    let name = group_name(&stack, "API-Gateway-Access-Logs_");
    stack.stack.logs().group(&name).flush();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(text, format!("{a} 200\n{b} 200\n"));
}

#[tokio::test]
async fn execution_logs_at_error_and_info() {
    let stack = start(r#"{ format = "CLF" }"#, "ERROR").await;
    get_item(&stack).await;
    let gone = stack.get("/prod/gone").await;
    let id = gone.header("x-amzn-requestid").unwrap().to_owned();
    let lines = log_lines(&stack, "API-Gateway-Execution-Logs_");
    assert!(
        lines.iter().all(|l| l.starts_with(&format!("({id}) "))),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("Execution failed") && l.contains("kaboom")));
    assert_eq!(
        lines.last().unwrap(),
        &format!("({id}) Method completed with status: 502")
    );

    let stack = start(r#"{ format = "CLF" }"#, "INFO").await;
    let ok = get_item(&stack).await;
    let lines = log_lines(&stack, "API-Gateway-Execution-Logs_");
    assert_eq!(
        lines.first().unwrap(),
        &format!("({ok}) Extended Request Id: {ok}")
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("({ok}) Method completed with status: 200")
    );
}

#[test]
fn bad_settings_are_config_errors_at_their_place() {
    let bad = toml(
        r#"{ format = "$context.requestId $context.bogus", destination = "s3://bucket" }"#,
        "DEBUG",
    );
    let errs: Vec<String> = match Config::from_toml(&bad, "bad.toml", &registry()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs[0].starts_with("bad.toml:5:") && errs[0].contains("$context.bogus"),
        "{errs:?}"
    );
    assert!(
        errs[1].starts_with("bad.toml:5:") && errs[1].contains("s3://bucket"),
        "{errs:?}"
    );
    assert!(
        errs[2].starts_with("bad.toml:6:") && errs[2].contains("DEBUG"),
        "{errs:?}"
    );

    let no_id = toml(r#"{ format = "$context.status" }"#, "INFO");
    let errs = Config::from_toml(&no_id, "bad.toml", &registry()).unwrap_err();
    assert!(errs.0[0].to_string().contains("requestId"), "{errs:?}");

    let no_dir = toml(
        r#"{ format = "CLF", destination = "file:/nonexistent/dir/a.log" }"#,
        "INFO",
    );
    let errs = Config::from_toml(&no_dir, "bad.toml", &registry()).unwrap_err();
    assert!(
        errs.0[0].to_string().contains("directory does not exist"),
        "{errs:?}"
    );

    let unknown = toml(r#"{ format = "CLF", path = "x" }"#, "INFO");
    let errs = Config::from_toml(&unknown, "bad.toml", &registry()).unwrap_err();
    assert!(errs.0[0].to_string().contains("path"), "{errs:?}");
}
