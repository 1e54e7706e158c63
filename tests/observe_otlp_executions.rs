//! OTLP export of executions started through the Step Functions API: each exports one trace
//! when it ends — an `execution` span with the execution's ARN and its states under it —
//! joining the caller's X-Ray trace (`traceHeader`, or the `X-Amzn-Trace-Id` header, which
//! AWS prefers) or, without a readable one, starting a new trace. A header AWS refuses
//! starts nothing and exports nothing.

mod common;
mod otlp_support;
mod upstream_support;

use std::time::{Duration, SystemTime};

use common::TestStack;
use otlp_support::{by_name, collector, names, next, sfn, spans};
use portico_runtime::Clock;
use serde_json::{json, Value};

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const OTLP_TRACE_ID: &str = "5759e988bd862e3fe1be46a994272793";
const QUICK: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:quick";
const SLOW: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:slow";

fn toml(endpoint: &str) -> String {
    otlp_support::exporting_toml(endpoint, otlp_support::SLOW_WORKFLOW)
}

async fn start(endpoint: &str, clock: Clock) -> TestStack {
    otlp_support::start_exporting(&toml(endpoint), clock).await
}

fn manual_clock() -> Clock {
    Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

/// Checks the tree of one exported execution: the `execution` span first, with `parent`
/// (or none), and `states` under it, all in one trace carrying the execution's ARN; returns
/// the trace id.
fn check_execution(spans: &[Value], parent: Option<&str>, states: &[&str], arn: &str) -> String {
    let mut expected = vec!["execution".to_owned()];
    expected.extend(states.iter().map(|s| format!("state {s}")));
    assert_eq!(names(spans), expected);
    let execution = by_name(spans, "execution");
    match parent {
        Some(parent) => assert_eq!(execution["parentSpanId"], parent),
        None => assert!(execution.get("parentSpanId").is_none(), "{execution}"),
    }
    let trace_id = execution["traceId"].as_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    for s in spans {
        assert_eq!(s["traceId"], trace_id.as_str(), "{s}");
        assert_eq!(
            attribute(s, "aws.step_functions.execution.arn"),
            Some(&json!({"stringValue": arn})),
            "{s}"
        );
        if s["name"] != "execution" {
            assert_eq!(s["parentSpanId"], execution["spanId"], "{s}");
        }
    }
    trace_id
}

#[tokio::test]
async fn a_sync_execution_with_a_trace_header_joins_the_callers_trace() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    let res = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": QUICK, "input": "{}", "traceHeader": HEADER}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["traceHeader"], HEADER, "the header as passed");
    let arn = body["executionArn"].as_str().unwrap();

    let (path, _, export) = next(&mut rx).await;
    assert_eq!(path, "/otel/v1/traces");
    let spans = spans(&export);
    let states = ["Prepare", "Greet", "Decide", "Done"];
    let trace_id = check_execution(&spans, Some("53995c3f42cd8ad8"), &states, arn);
    assert_eq!(trace_id, OTLP_TRACE_ID);
    // The Task's function ran under the Greet span: one trace end to end.
    let output: Value = serde_json::from_str(body["output"].as_str().unwrap()).unwrap();
    let greet = by_name(&spans, "state Greet")["spanId"].as_str().unwrap();
    assert_eq!(
        output["trace"],
        HEADER.replace("53995c3f42cd8ad8", greet),
        "{output}"
    );
}

#[tokio::test]
async fn an_execution_without_a_trace_header_starts_a_new_trace_when_it_ends() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let clock = manual_clock();
    let stack = start(&endpoint, clock.clone()).await;
    let res = sfn(
        &stack,
        "StartExecution",
        json!({"stateMachineArn": SLOW}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    // Nothing is exported while the execution waits in `Pause`.
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    assert!(rx.try_recv().is_err(), "nothing before the execution ends");

    clock.advance(Duration::from_secs(60));
    let (_, _, export) = next(&mut rx).await;
    let spans = spans(&export);
    let states = ["Prepare", "Pause", "Greet", "Done"];
    let trace_id = check_execution(&spans, None, &states, &arn);
    assert_ne!(trace_id, OTLP_TRACE_ID);
    // The new trace id starts with the clock's epoch seconds, as X-Ray ids do.
    assert!(trace_id.starts_with("6b49d200"), "{trace_id}");
    // DescribeExecution shows the header the execution ran under: the new trace's.
    let described = sfn(
        &stack,
        "DescribeExecution",
        json!({"executionArn": arn}),
        &[],
    )
    .await
    .json();
    let header = described["traceHeader"].as_str().unwrap();
    assert_eq!(
        header,
        format!("Root=1-{}-{};Sampled=1", &trace_id[..8], &trace_id[8..])
    );
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    while counters.exported.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_x_amzn_trace_id_header_is_preferred_over_the_trace_header_parameter() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    let other = "Root=1-11111111-222222222222222222222222;Parent=0000000000000abc;Sampled=1";
    let res = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": QUICK, "traceHeader": other}),
        &[("x-amzn-trace-id", HEADER)],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["traceHeader"], HEADER);
    let (_, _, export) = next(&mut rx).await;
    let spans = spans(&export);
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    let states = ["Prepare", "Greet", "Decide", "Done"];
    let trace_id = check_execution(&spans, Some("53995c3f42cd8ad8"), &states, &arn);
    assert_eq!(trace_id, OTLP_TRACE_ID);
}

#[tokio::test]
async fn a_refused_trace_header_starts_and_exports_nothing() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    let long = format!("{HEADER};{}", "x".repeat(256));
    for (body, extra, code) in [
        (json!({"traceHeader": long}), vec![], "ValidationException"),
        (
            json!({"traceHeader": "Root=1-é"}),
            vec![],
            "ValidationException",
        ),
        (json!({"traceHeader": 42}), vec![], "SerializationException"),
        (
            json!({}),
            vec![("x-amzn-trace-id", long.as_str())],
            "ValidationException",
        ),
    ] {
        let mut body = body;
        body["stateMachineArn"] = json!(QUICK);
        let res = sfn(&stack, "StartSyncExecution", body, &extra).await;
        assert_eq!(res.status, 400, "{}", res.text());
        assert_eq!(res.json()["__type"], code, "{}", res.text());
    }
    let list = sfn(
        &stack,
        "ListExecutions",
        json!({"stateMachineArn": QUICK}),
        &[],
    )
    .await;
    assert_eq!(list.json()["executions"], json!([]));
    // The first export the collector gets is the next execution's: the refused ones sent none.
    let res = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": QUICK}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    let (_, _, export) = next(&mut rx).await;
    let states = ["Prepare", "Greet", "Decide", "Done"];
    check_execution(&spans(&export), None, &states, &arn);
}

#[tokio::test]
async fn an_unreadable_trace_header_is_kept_but_its_spans_start_a_new_trace() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    // ASCII and short enough: AWS accepts it; X-Ray cannot join a trace it cannot read.
    let unreadable = "Root=not-a-trace;Parent=53995c3f42cd8ad8;Sampled=1";
    let res = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": QUICK, "traceHeader": unreadable}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["traceHeader"], unreadable, "kept as passed");
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    let (_, _, export) = next(&mut rx).await;
    let states = ["Prepare", "Greet", "Decide", "Done"];
    let trace_id = check_execution(&spans(&export), None, &states, &arn);
    assert!(
        trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{trace_id}"
    );
}
