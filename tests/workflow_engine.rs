//! Engine behaviour that the AWS recordings do not cover: Task states, Retry/Catch,
//! timeouts, resources, TOML definitions and bad input.

#[path = "common/sfn.rs"]
mod sfn;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use portico_runtime::workflow::validate::check;
use portico_runtime::workflow::{
    Definition, DefinitionError, Execution, ExecutionStatus, MachineType, NewStateMachine,
    ServiceError, WorkflowService,
};
use portico_runtime::Clock;
use serde_json::{json, Value};
use sfn::Funcs;

async fn run(def: &str, input: &str) -> Execution {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let svc = WorkflowService::new(clock.clone(), Arc::new(Funcs::default()));
    let sm = svc
        .create_state_machine(NewStateMachine {
            name: "t".into(),
            definition: def.into(),
            role_arn: None,
            kind: MachineType::Standard,
        })
        .expect("valid definition");
    let (arn, _) = svc
        .start_execution(&sm.arn, None, Some(input.into()))
        .await
        .expect("started");
    loop {
        let e = svc.describe_execution(&arn).unwrap();
        if e.status != ExecutionStatus::Running {
            return e;
        }
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        if clock.sleepers() > 0 {
            clock.advance(Duration::from_secs(1));
        }
    }
}

fn output(e: &Execution) -> Value {
    assert_eq!(
        e.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        e.error,
        e.cause
    );
    e.output.clone().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn retry_then_succeed_and_catch_with_result_path() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"flaky","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":2,"MaxAttempts":3}],"ResultPath":"$.t","Next":"B"},
        "B":{"Type":"Task","Resource":"boom","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Done"}],"End":true},
        "Done":{"Type":"Pass","End":true}}}"#;
    let e = run(def, "{}").await;
    assert_eq!(
        output(&e),
        json!({"t": "finally", "err": {"Error": "Boom", "Cause": "it blew up"}})
    );
}

#[tokio::test(flavor = "current_thread")]
async fn retries_exhausted_fail_with_the_task_error() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"boom","Retry":[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":2,"IntervalSeconds":1,"BackoffRate":2,"JitterStrategy":"FULL","MaxDelaySeconds":5}],"End":true}}}"#;
    let e = run(def, "{}").await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("Boom"));
}

#[tokio::test(flavor = "current_thread")]
async fn task_timeout_is_states_timeout() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"hang","TimeoutSeconds":5,"End":true}}}"#;
    let e = run(def, "{}").await;
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test(flavor = "current_thread")]
async fn lambda_invoke_integration_wraps_the_payload() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:double:$LATEST","Payload":{"n.$":"$.x"}},
        "ResultSelector":{"p.$":"$.Payload","code.$":"$.StatusCode"},"End":true}}}"#;
    let e = run(def, r#"{"x": 4}"#).await;
    assert_eq!(output(&e), json!({"p": {"n": 8}, "code": 200}));
}

#[tokio::test(flavor = "current_thread")]
async fn jsonata_task_with_arguments_and_output() {
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"double",
        "Arguments":{"n":"{% $states.input.x + 1 %}"},"Output":{"r":"{% $states.result.n %}"},"Assign":{"seen":"{% $states.result.n %}"},"Next":"P"},
        "P":{"Type":"Pass","Output":"{% $seen * 10 %}","End":true}}}"#;
    let e = run(def, r#"{"x": 4}"#).await;
    assert_eq!(output(&e), json!(100));
}

#[tokio::test(flavor = "current_thread")]
async fn missing_paths_and_bad_intrinsics_fail_cleanly() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.nope","End":true}}}"#;
    let e = run(def, "{}").await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert!(e.cause.unwrap().contains("Invalid path '$.nope'"));

    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"States.ArrayGetItem($.a, 9)"},"End":true}}}"#;
    let e = run(def, r#"{"a": [1]}"#).await;
    assert_eq!(e.error.as_deref(), Some("States.IntrinsicFailure"));

    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"States.StringToJson($.s)"},"End":true}}}"#;
    let e = run(def, r#"{"s": "{not json"}"#).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
}

#[tokio::test(flavor = "current_thread")]
async fn big_results_exceed_the_data_limit() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"States.ArrayRange(1, 1000, 1)"},"Next":"Q"},
        "Q":{"Type":"Map","ItemsPath":"$.x","ItemSelector":{"v.$":"$.x"},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let e = run(def, "{}").await;
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test(flavor = "current_thread")]
async fn non_json_input_is_rejected() {
    let svc = WorkflowService::new(Clock::system(), Arc::new(Funcs::default()));
    let sm = svc
        .create_state_machine(NewStateMachine {
            name: "t".into(),
            definition: r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#.into(),
            role_arn: None,
            kind: MachineType::Standard,
        })
        .unwrap();
    let err = svc
        .start_execution(&sm.arn, None, Some("not json".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::InvalidExecutionInput(_)));
}

#[test]
fn every_definition_error_is_reported_at_once() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Task","Resource":"nope","Next":"Missing","Bogus":1},
        "B":{"Type":"Pass","InputPath":"no-dollar","End":true},
        "C":{"Type":"Teleport"},
        "D":{"Type":"Task","Resource":"double","TimeoutSeconds":5,"HeartbeatSeconds":10,"End":true}}}"#;
    let d = Definition::from_json(def).unwrap();
    let exists = |f: &str| f == "double";
    let Err(DefinitionError::Invalid(diags)) = check(&d, Some(&exists)) else {
        panic!("expected errors");
    };
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    let all = text.join("\n");
    for want in [
        "Bogus",
        "Missing 'Next' target: Missing",
        "'nope' is not registered",
        "Teleport",
        "not reachable",
        "no-dollar",
    ] {
        assert!(all.contains(want), "missing '{want}' in:\n{all}");
    }
    assert!(Definition::from_json("[1]").is_err());
    assert!(Definition::from_json("{oops").is_err());
}

#[test]
fn toml_definitions_report_file_line_col() {
    let toml = "start_at = \"A\"\n\n[states.A]\ntype = \"Pass\"\nnext = \"Nowhere\"\n";
    let d = Definition::from_toml(toml, "flows/order.toml").unwrap();
    let Err(DefinitionError::Invalid(diags)) = check(&d, None) else {
        panic!("expected errors");
    };
    let d0 = diags
        .iter()
        .find(|d| d.message.contains("Nowhere"))
        .unwrap();
    assert_eq!(d0.location.as_deref(), Some("flows/order.toml:5:1"));

    let ok = "start_at = \"A\"\n[states.A]\ntype = \"Pass\"\nresult = { x = 1 }\nend = true\n";
    let plan = check(&Definition::from_toml(ok, "ok.toml").unwrap(), None).unwrap();
    assert_eq!(plan.states.len(), 1);
    assert!(Definition::from_toml("start_at = ", "bad.toml")
        .unwrap_err()
        .to_string()
        .contains("bad.toml"));
}
