//! Reading a request: the operation named by `X-Amz-Target`, the JSON object body, and its
//! string members as AWS checks them.

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::ApiError;

/// The operation (`StartExecution`, ...) and the request's JSON object (`{}` for an empty
/// body).
pub(super) fn parse<'h>(headers: &'h HeaderMap, body: &[u8]) -> Result<(&'h str, Value), ApiError> {
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
    Ok((op, req))
}

/// A string member, when present.
pub(super) fn s<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key).and_then(Value::as_str)
}

/// A string member that must be present.
pub(super) fn required<'a>(req: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    s(req, key).ok_or_else(|| {
        ApiError::new("ValidationException", format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"))
    })
}
