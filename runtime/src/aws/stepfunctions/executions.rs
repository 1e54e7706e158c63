//! The operations that start or stop an execution: StartExecution, StartSyncExecution and
//! StopExecution.

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::describe::describe_execution;
use super::request::{required, s};
use super::{trace, Api, ApiError};
use crate::workflow::timestamp::epoch_seconds;
use crate::workflow::{ExecutionTrace, WorkflowService};

/// What a start request asks for, read in the order AWS checks it.
struct Start<'a> {
    machine: &'a str,
    name: Option<String>,
    input: Option<String>,
    trace: Option<ExecutionTrace>,
}

impl<'a> Start<'a> {
    fn read(
        api: &Api,
        req: &'a Value,
        headers: &HeaderMap,
        operation: &'static str,
        request_id: &str,
    ) -> Result<Self, ApiError> {
        Ok(Start {
            machine: required(req, "stateMachineArn")?,
            name: s(req, "name").map(str::to_string),
            input: s(req, "input").map(str::to_string),
            trace: trace::execution_trace(req, headers, &api.stack, operation, request_id)?,
        })
    }
}

/// `StartExecution`: answers once the execution has started.
pub(super) async fn start(
    api: &Api,
    req: &Value,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Value, ApiError> {
    let start = Start::read(api, req, headers, "StartExecution", request_id)?;
    let (arn, started) = api
        .service
        .start_execution_traced(start.machine, start.name, start.input, start.trace)
        .await?;
    Ok(json!({"executionArn": arn, "startDate": epoch_seconds(started)}))
}

/// `StartSyncExecution`: answers with the ended execution, as DescribeExecution shows it
/// without the redrive fields and with billing details.
pub(super) async fn start_sync(
    api: &Api,
    req: &Value,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Value, ApiError> {
    let start = Start::read(api, req, headers, "StartSyncExecution", request_id)?;
    let e = api
        .service
        .start_sync_execution_traced(start.machine, start.name, start.input, start.trace)
        .await?;
    let mut v = describe_execution(&e);
    if let Some(o) = v.as_object_mut() {
        o.remove("redriveCount");
        o.remove("redriveStatus");
        o.insert(
            "billingDetails".into(),
            json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}),
        );
    }
    Ok(v)
}

/// `StopExecution`.
pub(super) async fn stop(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let at = svc
        .stop_execution(
            required(req, "executionArn")?,
            s(req, "error").map(str::to_string),
            s(req, "cause").map(str::to_string),
        )
        .await?;
    Ok(json!({"stopDate": epoch_seconds(at)}))
}
