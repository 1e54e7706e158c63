//! The X-Ray trace a start request (`StartExecution`, `StartSyncExecution`) runs its
//! execution under, and — when timelines are on (`[logs] traces` or `otlp_endpoint`) — the
//! execution's own timeline, kept for `/traces` and exported when it ends.

use std::sync::{Arc, Weak};

use axum::http::HeaderMap;
use serde_json::Value;

use super::ApiError;
use crate::observe::execution_traces::{trace_execution, Sinks, StartRequest};
use crate::stack::StackInner;
use crate::workflow::trace::{check_header, ExecutionTrace};

/// The execution trace of a start request: the caller's trace header — the
/// `X-Amzn-Trace-Id` HTTP header, else the `traceHeader` parameter (AWS prefers the header
/// when both are given) — checked as AWS checks it; with an exporter, also where the
/// execution's states are recorded for its timeline (under a new trace id when no header
/// joins one), which the API's `request_id` names.
pub(super) fn execution_trace(
    req: &Value,
    headers: &HeaderMap,
    stack: &Weak<StackInner>,
    operation: &'static str,
    request_id: &str,
) -> Result<Option<ExecutionTrace>, ApiError> {
    let header = match headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()) {
        Some(header) => {
            check_header(header).map_err(|m| ApiError::new("ValidationException", m))?;
            Some(header)
        }
        None => trace_header(req)?,
    };
    let Some(stack) = stack.upgrade().filter(|s| s.live().config.logs.traces) else {
        return Ok(header.map(ExecutionTrace::header));
    };
    let start = StartRequest {
        trace_header: header,
        start_ms: stack.clock.now_millis(),
        operation,
        request_id: request_id.to_owned(),
    };
    let sinks = Sinks {
        store: Arc::downgrade(&stack.traces),
        export: stack.otlp.as_ref().map(|e| e.later()),
    };
    let timeline = trace_execution(start, sinks);
    Ok(Some(ExecutionTrace {
        header: timeline.header,
        states: Some(timeline.states),
    }))
}

/// The `traceHeader` parameter: ASCII, at most 256 characters, as AWS checks it.
fn trace_header(req: &Value) -> Result<Option<&str>, ApiError> {
    match req.get("traceHeader") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(h)) => {
            check_header(h).map_err(|m| ApiError::new("ValidationException", m))?;
            Ok(Some(h.as_str()))
        }
        Some(_) => Err(ApiError::new(
            "SerializationException",
            "traceHeader must be a string",
        )),
    }
}
