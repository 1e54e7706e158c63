//! The state machine operations: Create, Describe, List, Update, Delete and
//! ValidateStateMachineDefinition.

use serde_json::{json, Value};

use super::request::{required, s};
use super::ApiError;
use crate::workflow::timestamp::epoch_seconds;
use crate::workflow::validate::validate_definition_for;
use crate::workflow::{MachineType, NewStateMachine, StateMachine, WorkflowService};

/// `CreateStateMachine`.
pub(super) fn create(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let kind = match s(req, "type") {
        None => MachineType::Standard,
        Some(t) => MachineType::parse(t)
            .ok_or_else(|| ApiError::new("ValidationException", format!("Invalid type: {t}")))?,
    };
    let sm = svc.create_state_machine(NewStateMachine {
        name: required(req, "name")?.to_string(),
        definition: required(req, "definition")?.to_string(),
        role_arn: s(req, "roleArn").map(str::to_string),
        kind,
    })?;
    Ok(json!({"stateMachineArn": sm.arn, "creationDate": epoch_seconds(sm.creation_date)}))
}

/// `DescribeStateMachine`.
pub(super) fn describe(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let m = svc.describe_state_machine(required(req, "stateMachineArn")?)?;
    Ok(describe_machine(&m))
}

/// `ListStateMachines`.
pub(super) fn list(svc: &WorkflowService) -> Value {
    json!({"stateMachines": svc.list_state_machines().iter().map(|m| json!({
        "stateMachineArn": m.arn, "name": m.name, "type": m.kind.as_str(),
        "creationDate": epoch_seconds(m.creation_date),
    })).collect::<Vec<_>>()})
}

/// `UpdateStateMachine`.
pub(super) fn update(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    let at = svc.update_state_machine(
        required(req, "stateMachineArn")?,
        s(req, "definition").map(str::to_string),
        s(req, "roleArn").map(str::to_string),
    )?;
    Ok(json!({"updateDate": epoch_seconds(at)}))
}

/// `DeleteStateMachine`.
pub(super) fn delete(svc: &WorkflowService, req: &Value) -> Result<Value, ApiError> {
    svc.delete_state_machine(required(req, "stateMachineArn")?)?;
    Ok(json!({}))
}

/// `ValidateStateMachineDefinition`.
pub(super) fn validate(req: &Value) -> Result<Value, ApiError> {
    let express = s(req, "type") == Some("EXPRESS");
    let r = validate_definition_for(required(req, "definition")?, express);
    serde_json::to_value(r).map_err(|e| ApiError::new("InternalFailure", e.to_string()))
}

fn describe_machine(m: &StateMachine) -> Value {
    json!({
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": m.definition,
        "roleArn": m.role_arn,
        "type": m.kind.as_str(),
        "creationDate": epoch_seconds(m.creation_date),
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    })
}
