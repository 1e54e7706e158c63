//! The X-Ray trace a start request (`StartExecution`, `StartSyncExecution`) runs its
//! execution under, and — when `[logs] otlp_endpoint` is set — the export of that execution
//! as a trace of its own when it ends.

use std::sync::Weak;

use axum::http::HeaderMap;
use serde_json::Value;

use super::ApiError;
use crate::stack::StackInner;
use crate::workflow::trace::{check_header, ExecutionTrace};

/// The execution trace of a start request: the caller's trace header — the
/// `X-Amzn-Trace-Id` HTTP header, else the `traceHeader` parameter (AWS prefers the header
/// when both are given) — checked as AWS checks it; with an exporter, also where the
/// execution's states are recorded for export (under a new trace id when no header joins
/// one).
pub(super) fn execution_trace(
    req: &Value,
    headers: &HeaderMap,
    stack: &Weak<StackInner>,
    operation: &'static str,
) -> Result<Option<ExecutionTrace>, ApiError> {
    let header = match headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()) {
        Some(header) => {
            check_header(header).map_err(|m| ApiError::new("ValidationException", m))?;
            Some(header)
        }
        None => trace_header(req)?,
    };
    let Some(stack) = stack.upgrade() else {
        return Ok(header.map(ExecutionTrace::header));
    };
    let Some(exporter) = &stack.otlp else {
        return Ok(header.map(ExecutionTrace::header));
    };
    let export = exporter.trace_execution(header, stack.clock.now_millis(), operation);
    Ok(Some(ExecutionTrace {
        header: export.header,
        states: Some(export.states),
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
