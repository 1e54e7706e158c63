//! The Step Functions JSON 1.0 API (`POST /`, `X-Amz-Target: AWSStepFunctions.<Op>`), as
//! boto3 and the AWS CLI speak it. Dates are epoch seconds as floats.
//!
//! [`request`] reads the operation and its JSON, [`machines`] holds the state machine
//! operations, [`executions`] those that start or stop an execution, [`describe`] those that
//! read executions back; [`trace`] decides which X-Ray trace a started execution runs under.

use std::sync::{Arc, Weak};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

mod describe;
mod executions;
mod machines;
mod request;
mod trace;

use crate::stack::StackInner;
use crate::workflow::{ServiceError, WorkflowService};

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

/// The router of a stack: executions it starts get their own timeline when timelines are on.
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

async fn dispatch(
    api: &Api,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Result<Value, ApiError> {
    let (op, req) = request::parse(headers, body)?;
    let svc = &api.service;
    match op {
        "CreateStateMachine" => machines::create(svc, &req),
        "DescribeStateMachine" => machines::describe(svc, &req),
        "ListStateMachines" => Ok(machines::list(svc)),
        "UpdateStateMachine" => machines::update(svc, &req),
        "DeleteStateMachine" => machines::delete(svc, &req),
        "ValidateStateMachineDefinition" => machines::validate(&req),
        "StartExecution" => executions::start(api, &req, headers, request_id).await,
        "StartSyncExecution" => executions::start_sync(api, &req, headers, request_id).await,
        "StopExecution" => executions::stop(svc, &req).await,
        "DescribeExecution" => describe::execution(svc, &req).await,
        "ListExecutions" => describe::list(svc, &req),
        "GetExecutionHistory" => describe::history(svc, &req).await,
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {other}"),
        )),
    }
}
