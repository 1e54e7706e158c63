//! The operations that read executions back: DescribeExecution, ListExecutions and
//! GetExecutionHistory.

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use super::request::{required, s};
use super::ApiError;
use crate::workflow::timestamp::epoch_seconds;
use crate::workflow::{Execution, ExecutionStatus, WorkflowService};

/// `DescribeExecution`, of an execution this process runs or the store holds.
pub(super) async fn execution(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let e = svc
        .describe_execution_anywhere(required(req, "executionArn")?)
        .await?;
    Ok(describe_execution(&e))
}

/// `ListExecutions`, optionally by `statusFilter`.
pub(super) fn list(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let status = match s(req, "statusFilter") {
        None => None,
        Some(f) => Some(ExecutionStatus::parse(f).ok_or_else(|| {
            ApiError::new("ValidationException", format!("Invalid statusFilter: {f}"))
        })?),
    };
    let list = svc.list_executions(required(req, "stateMachineArn")?, status)?;
    Ok(json!({"executions": list.iter().map(|e| {
        let mut o = Map::new();
        o.insert("executionArn".into(), json!(e.arn));
        o.insert("stateMachineArn".into(), json!(e.state_machine_arn));
        o.insert("name".into(), json!(e.name));
        o.insert("status".into(), json!(e.status.as_str()));
        o.insert("startDate".into(), json!(epoch_seconds(e.start_date)));
        if let Some(d) = e.stop_date {
            o.insert("stopDate".into(), json!(epoch_seconds(d)));
        }
        Value::Object(o)
    }).collect::<Vec<_>>()}))
}

/// `GetExecutionHistory`, oldest first unless `reverseOrder`.
pub(super) async fn history(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let mut events: Vec<Value> = svc
        .get_execution_history_anywhere(required(req, "executionArn")?)
        .await?
        .iter()
        .map(|e| e.to_json())
        .collect();
    if req.get("reverseOrder") == Some(&Value::Bool(true)) {
        events.reverse();
    }
    Ok(json!({"events": events}))
}

fn date(t: SystemTime) -> Value {
    json!(epoch_seconds(t))
}

/// An execution as DescribeExecution answers it.
pub(super) fn describe_execution(e: &Execution) -> Value {
    let mut o = Map::new();
    o.insert("executionArn".into(), json!(e.arn));
    o.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    o.insert("name".into(), json!(e.name));
    o.insert("status".into(), json!(e.status.as_str()));
    o.insert("startDate".into(), date(e.start_date));
    if let Some(d) = e.stop_date {
        o.insert("stopDate".into(), date(d));
    }
    o.insert("input".into(), json!(e.input.to_string()));
    o.insert("inputDetails".into(), json!({"included": true}));
    if let Some(out) = &e.output {
        o.insert("output".into(), json!(out.to_string()));
        o.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(err) = &e.error {
        o.insert("error".into(), json!(err));
    }
    if let Some(c) = &e.cause {
        o.insert("cause".into(), json!(c));
    }
    if let Some(t) = &e.trace_header {
        o.insert("traceHeader".into(), json!(t));
    }
    o.insert("redriveCount".into(), json!(0));
    o.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
    Value::Object(o)
}
