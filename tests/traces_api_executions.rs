//! Executions started through the Step Functions API (`StartExecution`,
//! `StartSyncExecution`) in the admin listener's `/traces`, shaped as a route-started one is
//! there, and how they ended in both places: one that did not succeed (FAILED, TIMED_OUT,
//! ABORTED) has its `execution` segment's detail and its OTLP span's status (ERROR, with the
//! error and cause as the message) say so; one that succeeded has neither.

mod common;
mod otlp_support;
mod upstream_support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use common::{segment, TestResponse, TestStack};
use otlp_support::{by_name, collector, next, spans, Received, QUICK_ROUTE, SLOW_WORKFLOW};
use portico_runtime::Clock;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";
const QUICK: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:quick";
const REJECTS: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:rejects";
const SLOW: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:slow";
const OVERDUE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:overdue";

const REJECTS_WORKFLOW: &str = r#"
[workflows.rejects]
definition = "tests/fixtures/traces/rejects.json"

[workflows.overdue]
definition = "tests/fixtures/traces/overdue.json"
"#;

/// A stack exporting to a fresh collector on a manual clock, with its admin API served.
struct Setup {
    stack: TestStack,
    admin: String,
    clock: Clock,
    exports: UnboundedReceiver<Received>,
}

async fn setup() -> Setup {
    let (endpoint, exports) = collector(vec![], None).await;
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let rest = format!("{REJECTS_WORKFLOW}{SLOW_WORKFLOW}{QUICK_ROUTE}");
    let toml = otlp_support::exporting_toml(&endpoint, &rest);
    let stack = otlp_support::start_exporting(&toml, clock.clone()).await;
    let admin = stack.serve_admin().await;
    Setup {
        stack,
        admin,
        clock,
        exports,
    }
}

/// A Step Functions API call that must succeed.
async fn sfn(stack: &TestStack, op: &str, body: Value, extra: &[(&str, &str)]) -> TestResponse {
    let res = otlp_support::sfn(stack, op, body, extra).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res
}

/// Every timeline `/traces/{root}` keeps for `root`; none is a 404.
async fn timelines(admin: &str, root: &str) -> (u16, Value) {
    let url = format!("{admin}/traces/{}", root.replace('=', "%3D"));
    let res = common::admin_get(&url).await;
    (res.status, res.json())
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Waits (without time passing) until the execution sleeps in its Wait state.
async fn until_waiting(clock: &Clock) {
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_succeeding_execution_is_kept_like_a_routes_and_exported_without_an_error() {
    let mut s = setup().await;
    let res = sfn(
        &s.stack,
        "StartSyncExecution",
        json!({"stateMachineArn": QUICK, "input": "{}"}),
        &[("x-amzn-trace-id", HEADER)],
    )
    .await;
    let request_id = res.header("x-amzn-requestid").unwrap().to_owned();
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();

    // Kept by the time the synchronous start answered.
    let (status, kept) = timelines(&s.admin, ROOT).await;
    assert_eq!(status, 200, "{kept}");
    let trace = &kept["traces"][0];
    assert_eq!(trace["header"], HEADER);
    assert_eq!(trace["traceId"], ROOT);
    assert_eq!(trace["requestId"], request_id.as_str());
    assert_eq!(trace["request"], "StartSyncExecution");
    assert_eq!(trace["status"], 200);
    assert_eq!(trace["startTime"], 1_800_000_000_000u64);
    assert_eq!(
        trace["execution"],
        json!({"executionArn": arn, "status": "SUCCEEDED", "error": null, "cause": null})
    );
    let names: Vec<&str> = trace["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["execution", "Prepare", "Greet", "Decide", "Done"]);
    let execution = segment(trace, "execution");
    assert_eq!(execution["parentId"], "53995c3f42cd8ad8");
    assert_eq!(execution["detail"], Value::Null);
    assert_eq!(segment(trace, "Greet")["parentId"], execution["spanId"]);

    // The same fields a route-started execution's timeline has (and the execution).
    let route = s
        .stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(route.status, 200, "{}", route.text());
    let (_, both) = timelines(&s.admin, ROOT).await;
    let routed = &both["traces"][1];
    assert_eq!(routed["request"], "POST /quick");
    let mut expected = keys(routed);
    expected.insert("execution");
    assert_eq!(keys(trace), expected);
    let state_keys = keys(segment(routed, "Greet"));
    assert_eq!(keys(segment(trace, "Greet")), state_keys);

    let (_, _, export) = next(&mut s.exports).await;
    let spans = spans(&export);
    let span = by_name(&spans, "execution");
    assert!(span.get("status").is_none(), "{span}");
    assert!(spans.iter().all(|s| s.get("status").is_none()), "{spans:?}");
}

#[tokio::test]
async fn a_failing_execution_is_an_error_in_traces_and_in_its_export() {
    let mut s = setup().await;
    let res = sfn(
        &s.stack,
        "StartExecution",
        json!({"stateMachineArn": REJECTS, "traceHeader": HEADER}),
        &[],
    )
    .await;
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    until_waiting(&s.clock).await;
    let (status, _) = timelines(&s.admin, ROOT).await;
    assert_eq!(status, 404, "nothing is kept before the execution ends");
    assert!(s.exports.try_recv().is_err(), "nor exported");

    s.clock.advance(Duration::from_secs(60));
    let (_, _, export) = next(&mut s.exports).await;
    let spans = spans(&export);
    assert_eq!(
        by_name(&spans, "execution")["status"],
        json!({"code": 2, "message": "Order.Rejected: out of stock"})
    );
    assert_eq!(
        by_name(&spans, "state Reject")["status"],
        json!({"code": 2})
    );
    assert!(by_name(&spans, "state Pause").get("status").is_none());

    // Kept before it was exported.
    let (status, kept) = timelines(&s.admin, ROOT).await;
    assert_eq!(status, 200, "{kept}");
    let trace = &kept["traces"][0];
    assert_eq!(trace["request"], "StartExecution");
    assert_eq!(
        trace["execution"],
        json!({"executionArn": arn, "status": "FAILED",
               "error": "Order.Rejected", "cause": "out of stock"})
    );
    assert_eq!(
        segment(trace, "execution")["detail"],
        "Order.Rejected: out of stock"
    );
    assert_eq!(segment(trace, "Reject")["detail"], "Order.Rejected");
}

#[tokio::test]
async fn a_stopped_execution_is_an_error_with_the_stop_requests_error_and_cause() {
    let mut s = setup().await;
    let res = sfn(
        &s.stack,
        "StartExecution",
        json!({"stateMachineArn": SLOW}),
        &[],
    )
    .await;
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    until_waiting(&s.clock).await;
    sfn(
        &s.stack,
        "StopExecution",
        json!({"executionArn": arn, "error": "Cancelled", "cause": "by the test"}),
        &[],
    )
    .await;
    let (_, _, export) = next(&mut s.exports).await;
    let spans = spans(&export);
    let span = by_name(&spans, "execution");
    assert_eq!(
        span["status"],
        json!({"code": 2, "message": "Cancelled: by the test"})
    );
    let header = sfn(
        &s.stack,
        "DescribeExecution",
        json!({"executionArn": arn}),
        &[],
    )
    .await
    .json()["traceHeader"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = header.split(';').next().unwrap();
    let (_, kept) = timelines(&s.admin, root).await;
    assert_eq!(kept["traces"][0]["execution"]["status"], "ABORTED");
    assert_eq!(
        segment(&kept["traces"][0], "execution")["detail"],
        "Cancelled: by the test"
    );
}

#[tokio::test]
async fn a_timed_out_execution_is_an_error_named_states_timeout() {
    let mut s = setup().await;
    let res = sfn(
        &s.stack,
        "StartExecution",
        json!({"stateMachineArn": OVERDUE, "traceHeader": HEADER}),
        &[],
    )
    .await;
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    until_waiting(&s.clock).await;
    s.clock.advance(Duration::from_secs(30));
    let (_, _, export) = next(&mut s.exports).await;
    assert_eq!(
        by_name(&spans(&export), "execution")["status"],
        json!({"code": 2, "message": "States.Timeout"})
    );
    let (_, kept) = timelines(&s.admin, ROOT).await;
    assert_eq!(
        kept["traces"][0]["execution"],
        json!({"executionArn": arn, "status": "TIMED_OUT", "error": "States.Timeout", "cause": ""})
    );
}

#[tokio::test]
async fn timelines_without_a_collector_keep_api_executions_and_timelines_off_keep_none() {
    let toml = |traces: bool| {
        format!(
            "[logs]\nstdout = false\ntraces = {traces}\n\n[workflows.quick]\n\
             definition = \"tests/fixtures/traces/flow.json\"\ntype = \"EXPRESS\"\n"
        )
    };
    for traces in [true, false] {
        let stack = otlp_support::start_exporting(&toml(traces), Clock::system()).await;
        let admin = stack.serve_admin().await;
        let res = sfn(
            &stack,
            "StartSyncExecution",
            json!({"stateMachineArn": QUICK}),
            &[],
        )
        .await;
        let recent = common::admin_get(&format!("{admin}/traces?limit=5")).await;
        let kept = recent.json()["traces"].clone();
        if traces {
            // A new trace, shown as the execution's traceHeader.
            assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
            assert_eq!(kept[0]["header"], res.json()["traceHeader"]);
            assert_eq!(kept[0]["execution"]["status"], "SUCCEEDED");
        } else {
            assert_eq!(kept, json!([]));
            assert!(res.json().get("traceHeader").is_none(), "{}", res.text());
        }
    }
}
