//! A request's `X-Amzn-Trace-Id` reaches the workflow execution a route starts (and one that
//! StartExecution starts with `traceHeader`), every Task state's function `Context`, and the
//! request's timeline gets one segment per state entered; DescribeExecution returns
//! `traceHeader`.

mod common;

use common::{quiet, segment, TestResponse, TestStack};
use portico_runtime::{async_trait, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Answers with the trace header its context received.
struct WhoAmI;

#[async_trait]
impl Handler for WhoAmI {
    async fn call(&self, _event: Value, ctx: Context) -> Result<Value, FunctionError> {
        Ok(json!({"trace": ctx.xray_trace_id}))
    }
}

const TOML: &str = r#"
[logs]
stdout = false
traces = true

[workflows.quick]
definition = "tests/fixtures/traces/flow.json"
type = "EXPRESS"

[workflows.standard]
definition = "tests/fixtures/traces/flow.json"

[workflows.fails]
definition = "tests/fixtures/traces/fails.json"
type = "EXPRESS"

[apis.shop]
type = "http"
[[apis.shop.routes]]
route = "POST /quick"
workflow = "quick"
sync = true
[[apis.shop.routes]]
route = "POST /standard"
workflow = "standard"
[[apis.shop.routes]]
route = "POST /fails"
workflow = "fails"
sync = true
"#;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";

async fn start(toml: &str) -> (TestStack, String) {
    let mut registry = Registry::new();
    registry.register("whoami", WhoAmI);
    let stack = TestStack::start(&quiet(toml), &registry).await;
    let url = stack.serve_admin().await;
    (stack, url)
}

async fn admin_get(url: &str) -> Value {
    let response = common::admin_get(url).await;
    assert_eq!(response.status, 200);
    response.json()
}

async fn sfn(stack: &TestStack, op: &str, body: Value) -> TestResponse {
    let target = format!("AWSStepFunctions.{op}");
    stack
        .request(
            "POST",
            "/",
            &[
                ("x-amz-target", target.as_str()),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            body.to_string(),
        )
        .await
}

async fn only_execution(stack: &TestStack, machine: &str) -> Value {
    let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}");
    let list = sfn(stack, "ListExecutions", json!({"stateMachineArn": arn})).await;
    let executions = list.json()["executions"].clone();
    assert_eq!(executions.as_array().unwrap().len(), 1, "{executions}");
    let arn = executions[0]["executionArn"].clone();
    sfn(stack, "DescribeExecution", json!({"executionArn": arn}))
        .await
        .json()
}

fn span_of(header: &str) -> &str {
    header
        .split(';')
        .find_map(|p| p.strip_prefix("Parent="))
        .unwrap_or_else(|| panic!("no Parent in {header}"))
}

#[tokio::test]
async fn a_sync_route_traces_each_state_and_hands_the_trace_to_its_task() {
    let (stack, url) = start(TOML).await;
    let res = stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-amzn-trace-id"), Some(HEADER));
    let seen = res.json()["trace"].as_str().unwrap().to_owned();

    let encoded = ROOT.replace('=', "%3D");
    let traces = admin_get(&format!("{url}/traces/{encoded}")).await["traces"].clone();
    assert_eq!(traces.as_array().unwrap().len(), 1);
    let trace = &traces[0];
    let names: Vec<(&str, Option<&str>)> = trace["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["type"].as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("gateway", None),
            ("admission", None),
            ("workflow", None),
            ("Prepare", Some("Pass")),
            ("Greet", Some("Task")),
            ("Decide", Some("Choice")),
            ("Done", Some("Succeed")),
        ]
    );
    let gateway = segment(trace, "gateway");
    let workflow = segment(trace, "workflow");
    assert_eq!(
        gateway["parentId"], "53995c3f42cd8ad8",
        "the caller's Parent"
    );
    assert_eq!(workflow["parentId"], gateway["spanId"]);
    assert_eq!(workflow["detail"], "quick");
    let (w_start, w_len) = (
        workflow["startUs"].as_u64().unwrap(),
        workflow["durationUs"].as_u64().unwrap(),
    );
    let mut previous_end = w_start;
    for state in ["Prepare", "Greet", "Decide", "Done"] {
        let s = segment(trace, state);
        assert_eq!(
            s["parentId"], workflow["spanId"],
            "{state} is inside the workflow"
        );
        let start = s["startUs"].as_u64().unwrap();
        let end = start + s["durationUs"].as_u64().unwrap();
        assert!(
            start >= previous_end,
            "{state} starts after the state before"
        );
        assert!(end <= w_start + w_len, "{state} ends within the workflow");
        previous_end = end;
    }

    // The Task's function got the same trace with its state as the parent.
    let greet = segment(trace, "Greet");
    assert_eq!(
        seen,
        format!(
            "{ROOT};Parent={};Sampled=1",
            greet["spanId"].as_str().unwrap()
        )
    );

    // DescribeExecution returns the header the execution was started with.
    let described = only_execution(&stack, "quick").await;
    let header = described["traceHeader"].as_str().unwrap();
    assert_eq!(
        header,
        format!(
            "{ROOT};Parent={};Sampled=1",
            workflow["spanId"].as_str().unwrap()
        )
    );
    assert_eq!(span_of(header), workflow["spanId"]);
}

#[tokio::test]
async fn a_sync_route_whose_execution_fails_says_how_on_its_timeline() {
    let (stack, url) = start(TOML).await;
    let res = stack
        .request("POST", "/fails", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    let arn = only_execution(&stack, "fails").await["executionArn"].clone();

    let encoded = ROOT.replace('=', "%3D");
    let traces = admin_get(&format!("{url}/traces/{encoded}")).await["traces"].clone();
    let trace = &traces[0];
    assert_eq!(
        trace["execution"],
        json!({"executionArn": arn, "status": "FAILED",
            "error": "Order.Rejected", "cause": "out of stock"})
    );
    assert_eq!(segment(trace, "Reject")["type"], "Fail");

    // A succeeding one says so too.
    let res = stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let traces = admin_get(&format!("{url}/traces/{encoded}")).await["traces"].clone();
    let statuses: Vec<&Value> = traces
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["execution"]["status"])
        .collect();
    assert!(statuses.contains(&&json!("SUCCEEDED")), "{traces}");
    assert!(statuses.contains(&&json!("FAILED")), "{traces}");
}

#[tokio::test]
async fn an_asynchronous_start_keeps_adding_its_states_to_the_request_timeline() {
    let (stack, url) = start(TOML).await;
    let res = stack.request("POST", "/standard", &[], "{}").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let created = res.header("x-amzn-trace-id").unwrap().to_owned();
    assert!(created.starts_with("Root=1-"), "{created}");
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();
    let done = stack.stack.workflows().wait_for(&arn).await.unwrap();
    let output = done.output.unwrap();
    let seen = output["trace"].as_str().unwrap();
    assert!(seen.starts_with(&format!("{created};Parent=")), "{seen}");

    let encoded = created.replace('=', "%3D");
    let trace = admin_get(&format!("{url}/traces/{encoded}")).await["traces"][0].clone();
    let states: Vec<&str> = trace["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"].is_string())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["Prepare", "Greet", "Decide", "Done"]);
    assert_eq!(span_of(seen), segment(&trace, "Greet")["spanId"]);
    let described = only_execution(&stack, "standard").await;
    assert_eq!(described["status"], "SUCCEEDED");
    assert!(described["traceHeader"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{created};Parent=")));
}

#[tokio::test]
async fn start_execution_with_a_trace_header_hands_it_to_every_task() {
    let (stack, url) = start(TOML).await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:quick";
    let res = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": machine, "input": "{}", "traceHeader": HEADER}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["traceHeader"], HEADER);
    let output: Value = serde_json::from_str(body["output"].as_str().unwrap()).unwrap();
    // With timelines on the execution has its own, and each Task runs under its state's span.
    let encoded = ROOT.replace('=', "%3D");
    let timeline = admin_get(&format!("{url}/traces/{encoded}")).await["traces"][0].clone();
    assert_eq!(timeline["request"], "StartSyncExecution");
    let greet = segment(&timeline, "Greet")["spanId"].as_str().unwrap();
    assert_eq!(
        output["trace"],
        HEADER.replace("53995c3f42cd8ad8", greet),
        "the header with the Task's state as its parent"
    );

    let standard = "arn:aws:states:us-east-1:123456789012:stateMachine:standard";
    let started = sfn(
        &stack,
        "StartExecution",
        json!({"stateMachineArn": standard, "traceHeader": HEADER}),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.text());
    let arn = started.json()["executionArn"].as_str().unwrap().to_owned();
    stack.stack.workflows().wait_for(&arn).await.unwrap();
    let described = sfn(&stack, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(described.json()["traceHeader"], HEADER);

    // Without one, a new trace, as X-Ray starts one (tests/traces_api_executions.rs: with
    // timelines off there is none, as AWS without X-Ray).
    let plain = sfn(
        &stack,
        "StartSyncExecution",
        json!({"stateMachineArn": machine}),
    )
    .await
    .json();
    let created = plain["traceHeader"].as_str().unwrap();
    assert!(created.starts_with("Root=1-"), "{plain}");
}

#[tokio::test]
async fn a_bad_trace_header_is_refused_and_starts_nothing() {
    let (stack, _url) = start(TOML).await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:standard";
    let long = "x".repeat(257);
    for (header, code) in [
        (json!(long), "ValidationException"),
        (json!("Root=1-é"), "ValidationException"),
        (json!(42), "SerializationException"),
    ] {
        let res = sfn(
            &stack,
            "StartExecution",
            json!({"stateMachineArn": machine, "traceHeader": header}),
        )
        .await;
        assert_eq!(res.status, 400, "{}", res.text());
        assert_eq!(res.json()["__type"], code);
    }
    let list = sfn(
        &stack,
        "ListExecutions",
        json!({"stateMachineArn": machine}),
    )
    .await;
    assert_eq!(list.json()["executions"], json!([]));
}

#[tokio::test]
async fn with_timelines_off_the_task_still_gets_the_callers_header() {
    let (stack, url) = start(&TOML.replace("traces = true", "traces = false")).await;
    let res = stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["trace"], HEADER);
    assert_eq!(only_execution(&stack, "quick").await["traceHeader"], HEADER);
    let kept = admin_get(&format!("{url}/traces?limit=10")).await;
    assert_eq!(kept["traces"], json!([]));
}
