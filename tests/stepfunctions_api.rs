//! The Step Functions JSON 1.0 API over a real socket, driven the way boto3 does.

#[path = "common/sfn.rs"]
mod sfn;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use portico_runtime::workflow::WorkflowService;
use portico_runtime::Clock;
use serde_json::{json, Value};
use sfn::Funcs;

struct Api {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Api {
    async fn start(svc: Arc<WorkflowService>) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = portico_runtime::aws::stepfunctions::router(svc);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Api {
            base: format!("http://{addr}/"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let req = hyper::Request::post(&self.base)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AWSStepFunctions.{op}"))
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.0");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 200, "{op} failed: {v}");
        v
    }

    async fn err(&self, op: &str, body: Value) -> String {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 400, "{op} should fail: {v}");
        assert!(v["message"].is_string());
        v["__type"].as_str().unwrap().to_string()
    }
}

const MACHINE: &str = r#"{
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Result": {"n": 21}, "Next": "Double"},
    "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "ResultPath": "$.out", "Next": "Check"},
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.out.n", "NumericEquals": 42, "Next": "Done"}], "Default": "Bad"},
    "Bad": {"Type": "Fail", "Error": "Wrong"},
    "Done": {"Type": "Succeed"}
  }
}"#;

#[tokio::test]
async fn lifecycle_over_http() {
    let svc = WorkflowService::new(Clock::system(), Arc::new(Funcs::default()));
    let api = Api::start(svc.clone()).await;

    let created = api.ok("CreateStateMachine", json!({"name": "demo", "definition": MACHINE, "roleArn": "arn:aws:iam::123456789012:role/r"})).await;
    let sm_arn = created["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(
        sm_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:demo"
    );
    assert!(created["creationDate"].is_f64());

    let described = api
        .ok("DescribeStateMachine", json!({"stateMachineArn": sm_arn}))
        .await;
    assert_eq!(described["type"], "STANDARD");
    assert_eq!(described["definition"], MACHINE);
    let listed = api.ok("ListStateMachines", json!({})).await;
    assert_eq!(listed["stateMachines"][0]["name"], "demo");

    let started = api
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm_arn, "name": "run1", "input": "{}"}),
        )
        .await;
    let exec_arn = started["executionArn"].as_str().unwrap().to_string();
    assert_eq!(
        exec_arn,
        "arn:aws:states:us-east-1:123456789012:execution:demo:run1"
    );
    svc.wait_for(&exec_arn).await.unwrap();

    let d = api
        .ok("DescribeExecution", json!({"executionArn": exec_arn}))
        .await;
    assert_eq!(d["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!({"n": 21, "out": {"n": 42}}));
    assert!(d["stopDate"].is_f64());

    let h = api
        .ok("GetExecutionHistory", json!({"executionArn": exec_arn}))
        .await;
    let types: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    assert_eq!(h["events"][1]["previousEventId"], 1);
    assert_eq!(h["events"][1]["stateEnteredEventDetails"]["name"], "Init");

    let l = api
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm_arn, "statusFilter": "SUCCEEDED"}),
        )
        .await;
    assert_eq!(l["executions"].as_array().unwrap().len(), 1);

    assert_eq!(
        api.err(
            "StartExecution",
            json!({"stateMachineArn": sm_arn, "name": "run1"})
        )
        .await,
        "ExecutionAlreadyExists"
    );
    assert_eq!(
        api.err(
            "StartExecution",
            json!({"stateMachineArn": sm_arn, "input": "{nope"})
        )
        .await,
        "InvalidExecutionInput"
    );
    assert_eq!(
        api.err(
            "DescribeStateMachine",
            json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"})
        )
        .await,
        "StateMachineDoesNotExist"
    );
    assert_eq!(
        api.err(
            "DescribeStateMachine",
            json!({"stateMachineArn": "garbage"})
        )
        .await,
        "InvalidArn"
    );
    assert_eq!(
        api.err(
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:demo:none"})
        )
        .await,
        "ExecutionDoesNotExist"
    );
    assert_eq!(
        api.err(
            "CreateStateMachine",
            json!({"name": "bad", "definition": "{\"StartAt\": \"X\", \"States\": {}}"})
        )
        .await,
        "InvalidDefinition"
    );
    assert_eq!(api.err("CreateStateMachine", json!({"name": "demo", "definition": "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}"})).await, "StateMachineAlreadyExists");
    assert_eq!(
        api.err("CreateStateMachine", json!({"definition": MACHINE}))
            .await,
        "ValidationException"
    );
    assert_eq!(
        api.err("NoSuchOp", json!({})).await,
        "UnknownOperationException"
    );

    let v = api
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": "{}"}),
        )
        .await;
    assert_eq!(v["result"], "FAIL");
    assert_eq!(
        v["diagnostics"][0]["message"],
        "These fields are required: [States, StartAt]"
    );

    let upd = api.ok("UpdateStateMachine", json!({"stateMachineArn": sm_arn, "definition": "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}"})).await;
    assert!(upd["updateDate"].is_f64());
    api.ok("DeleteStateMachine", json!({"stateMachineArn": sm_arn}))
        .await;
    assert_eq!(
        api.err("DescribeStateMachine", json!({"stateMachineArn": sm_arn}))
            .await,
        "StateMachineDoesNotExist"
    );
}

#[tokio::test]
async fn stop_aborts_a_waiting_execution_and_sync_runs_express() {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let svc = WorkflowService::new(clock.clone(), Arc::new(Funcs::default()));
    let api = Api::start(svc.clone()).await;
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#;
    let sm = api
        .ok(
            "CreateStateMachine",
            json!({"name": "waits", "definition": def}),
        )
        .await;
    let started = api
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm["stateMachineArn"]}),
        )
        .await;
    let arn = started["executionArn"].as_str().unwrap();
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    api.ok(
        "StopExecution",
        json!({"executionArn": arn, "error": "Stopped", "cause": "by test"}),
    )
    .await;
    let d = api
        .ok("DescribeExecution", json!({"executionArn": arn}))
        .await;
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "Stopped");
    let h = api
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": arn, "reverseOrder": true}),
        )
        .await;
    assert_eq!(h["events"][0]["type"], "ExecutionAborted");

    let sync_def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, $.b)"},"End":true}}}"#;
    let express = api
        .ok(
            "CreateStateMachine",
            json!({"name": "fast", "definition": sync_def, "type": "EXPRESS"}),
        )
        .await;
    let r = api
        .ok(
            "StartSyncExecution",
            json!({"stateMachineArn": express["stateMachineArn"], "input": "{\"a\": 1, \"b\": 2}"}),
        )
        .await;
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["output"], "{\"sum\":3}");
    assert!(r["billingDetails"].is_object());
    assert_eq!(
        api.err(
            "StartSyncExecution",
            json!({"stateMachineArn": sm["stateMachineArn"]})
        )
        .await,
        "StateMachineTypeNotSupported"
    );
}
