//! The Step Functions JSON 1.0 API (`POST /`, `X-Amz-Target: AWSStepFunctions.<Op>`), as
//! boto3 and the AWS CLI speak it. Dates are epoch seconds as floats.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

mod trace;

use crate::stack::StackInner;
use std::sync::Weak;

use crate::workflow::timestamp::epoch_seconds;
use crate::workflow::validate::validate_definition_for;
use crate::workflow::{
    Execution, ExecutionStatus, MachineType, NewStateMachine, ServiceError, StateMachine,
    WorkflowService,
};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// An API error: AWS's code and message, always HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// AWS's error code (`StateMachineDoesNotExist`, `ValidationException`, ...).
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

// The one place API errors become HTTP responses.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message});
        let status = if self.code == "InternalFailure" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        (
            status,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response()
    }
}

/// The Step Functions API router, to be mounted at `/`.
pub fn router(service: Arc<WorkflowService>) -> Router {
    router_of_stack(service, Weak::new())
}

/// The router of a stack: executions it starts are exported when the stack has an exporter.
pub(crate) fn router_of_stack(service: Arc<WorkflowService>, stack: Weak<StackInner>) -> Router {
    Router::new()
        .route("/", post(handle))
        .with_state(Api { service, stack })
}

#[derive(Clone)]
struct Api {
    service: Arc<WorkflowService>,
    stack: Weak<StackInner>,
}

async fn handle(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = crate::observe::ids::uuid();
    let mut response = match dispatch(&api, &headers, &body, &request_id).await {
        Ok(v) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            v.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    };
    // AWS's APIs name every answer; an API-started execution's timeline carries the name.
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

fn s<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key).and_then(Value::as_str)
}

fn required<'a>(req: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    s(req, key).ok_or_else(|| {
        ApiError::new("ValidationException", format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"))
    })
}

async fn dispatch(
    api: &Api,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Result<Value, ApiError> {
    let svc = &api.service;
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let op = target.strip_prefix("AWSStepFunctions.").ok_or_else(|| {
        ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        )
    })?;
    let req: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::new("SerializationException", e.to_string()))?
    };
    if !req.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "the request body must be a JSON object",
        ));
    }
    match op {
        "CreateStateMachine" => {
            let kind = match s(&req, "type") {
                None => MachineType::Standard,
                Some(t) => MachineType::parse(t).ok_or_else(|| {
                    ApiError::new("ValidationException", format!("Invalid type: {t}"))
                })?,
            };
            let sm = svc.create_state_machine(NewStateMachine {
                name: required(&req, "name")?.to_string(),
                definition: required(&req, "definition")?.to_string(),
                role_arn: s(&req, "roleArn").map(str::to_string),
                kind,
            })?;
            Ok(json!({"stateMachineArn": sm.arn, "creationDate": epoch_seconds(sm.creation_date)}))
        }
        "DescribeStateMachine" => Ok(describe_machine(
            &svc.describe_state_machine(required(&req, "stateMachineArn")?)?,
        )),
        "ListStateMachines" => Ok(
            json!({"stateMachines": svc.list_state_machines().iter().map(|m| json!({
            "stateMachineArn": m.arn, "name": m.name, "type": m.kind.as_str(), "creationDate": epoch_seconds(m.creation_date),
        })).collect::<Vec<_>>()}),
        ),
        "UpdateStateMachine" => {
            let at = svc.update_state_machine(
                required(&req, "stateMachineArn")?,
                s(&req, "definition").map(str::to_string),
                s(&req, "roleArn").map(str::to_string),
            )?;
            Ok(json!({"updateDate": epoch_seconds(at)}))
        }
        "DeleteStateMachine" => {
            svc.delete_state_machine(required(&req, "stateMachineArn")?)?;
            Ok(json!({}))
        }
        "StartExecution" => {
            let (arn, start) = svc
                .start_execution_traced(
                    required(&req, "stateMachineArn")?,
                    s(&req, "name").map(str::to_string),
                    s(&req, "input").map(str::to_string),
                    trace::execution_trace(
                        &req,
                        headers,
                        &api.stack,
                        "StartExecution",
                        request_id,
                    )?,
                )
                .await?;
            Ok(json!({"executionArn": arn, "startDate": epoch_seconds(start)}))
        }
        "StartSyncExecution" => {
            let e = svc
                .start_sync_execution_traced(
                    required(&req, "stateMachineArn")?,
                    s(&req, "name").map(str::to_string),
                    s(&req, "input").map(str::to_string),
                    trace::execution_trace(
                        &req,
                        headers,
                        &api.stack,
                        "StartSyncExecution",
                        request_id,
                    )?,
                )
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
        "DescribeExecution" => Ok(describe_execution(
            &svc.describe_execution_anywhere(required(&req, "executionArn")?)
                .await?,
        )),
        "StopExecution" => {
            let at = svc
                .stop_execution(
                    required(&req, "executionArn")?,
                    s(&req, "error").map(str::to_string),
                    s(&req, "cause").map(str::to_string),
                )
                .await?;
            Ok(json!({"stopDate": epoch_seconds(at)}))
        }
        "ListExecutions" => {
            let status = match s(&req, "statusFilter") {
                None => None,
                Some(f) => Some(ExecutionStatus::parse(f).ok_or_else(|| {
                    ApiError::new("ValidationException", format!("Invalid statusFilter: {f}"))
                })?),
            };
            let list = svc.list_executions(required(&req, "stateMachineArn")?, status)?;
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
        "GetExecutionHistory" => {
            let mut events: Vec<Value> = svc
                .get_execution_history_anywhere(required(&req, "executionArn")?)
                .await?
                .iter()
                .map(|e| e.to_json())
                .collect();
            if req.get("reverseOrder") == Some(&Value::Bool(true)) {
                events.reverse();
            }
            Ok(json!({"events": events}))
        }
        "ValidateStateMachineDefinition" => {
            let express = s(&req, "type") == Some("EXPRESS");
            let r = validate_definition_for(required(&req, "definition")?, express);
            serde_json::to_value(r).map_err(|e| ApiError::new("InternalFailure", e.to_string()))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {other}"),
        )),
    }
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

fn date(t: SystemTime) -> Value {
    json!(epoch_seconds(t))
}

fn describe_execution(e: &Execution) -> Value {
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
