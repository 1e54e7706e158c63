//! The Lambda Runtime API one external instance talks to: `/2018-06-01/runtime/...` at the
//! root of its own listener, so `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT` works unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::invoke::FunctionError;

/// Largest response a function may return (Lambda's 6 MB).
const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// An invocation waiting for the runtime to fetch it.
pub(crate) struct Pending {
    pub request_id: String,
    pub deadline_ms: u64,
    pub invoked_arn: String,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
    pub body: Bytes,
    pub reply: oneshot::Sender<Result<Bytes, FunctionError>>,
}

/// What the instance learns from its runtime during init.
pub(crate) enum InitSignal {
    /// The runtime asked for its first invocation: init is done.
    Ready,
    /// The runtime reported `/init/error`.
    Failed(FunctionError),
}

pub(crate) struct ApiState {
    pub queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    pub in_flight: Mutex<HashMap<String, oneshot::Sender<Result<Bytes, FunctionError>>>>,
    pub init: Mutex<Option<oneshot::Sender<InitSignal>>>,
}

type Shared = Arc<ApiState>;

pub(crate) fn router(state: Shared) -> axum::Router {
    axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(|| async {
            api_error(
                StatusCode::NOT_FOUND,
                "InvalidRequest",
                "Unknown Runtime API path",
            )
        })
        .with_state(state)
}

async fn next(State(state): State<Shared>) -> Response {
    if let Some(init) = lock(&state.init).take() {
        let _ = init.send(InitSignal::Ready);
    }
    let pending = state.queue.lock().await.recv().await;
    let Some(p) = pending else {
        return api_error(StatusCode::GONE, "ShuttingDown", "The instance is stopping");
    };
    let mut response = Response::new(axum::body::Body::from(p.body));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &p.request_id);
    set("lambda-runtime-deadline-ms", &p.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &p.invoked_arn);
    if let Some(t) = &p.trace_id {
        set("lambda-runtime-trace-id", t);
    }
    if let Some(c) = &p.client_context {
        set("lambda-runtime-client-context", c);
    }
    set("content-type", "application/json");
    lock(&state.in_flight).insert(p.request_id, p.reply);
    response
}

async fn response(State(state): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(reply) = lock(&state.in_flight).remove(&id) else {
        return unknown_request(&id);
    };
    if body.len() > RESPONSE_LIMIT {
        let _ = reply.send(Err(FunctionError::unhandled(
            "Function.ResponseSizeTooLarge",
            format!("Response payload size ({} bytes) exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes).", body.len()),
        )));
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Response too large",
        );
    }
    let _ = reply.send(Ok(body));
    accepted()
}

async fn error(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reply) = lock(&state.in_flight).remove(&id) else {
        return unknown_request(&id);
    };
    let _ = reply.send(Err(reported_error(&headers, &body)));
    accepted()
}

async fn init_error(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(init) = lock(&state.init).take() {
        let _ = init.send(InitSignal::Failed(reported_error(&headers, &body)));
    }
    accepted()
}

/// The error a runtime reports: `{"errorMessage", "errorType"}`, with the type also in
/// `Lambda-Runtime-Function-Error-Type`.
fn reported_error(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok());
    let error_type = value["errorType"]
        .as_str()
        .or(header_type)
        .unwrap_or("Runtime.Unknown");
    let message = value["errorMessage"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    FunctionError::unhandled(error_type, message)
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn unknown_request(id: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        &format!("Invalid request ID: {id}"),
    )
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
