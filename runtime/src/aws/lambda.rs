//! Lambda's Invoke API: `POST /2015-03-31/functions/{name}/invocations`, as the AWS CLI and
//! boto3 call it.

use std::sync::Weak;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;

use crate::invoke::{Invocation, Payload, Throttled, ACCOUNT_ID, REGION};
use crate::stack::StackInner;

/// Every Lambda API path starts with this.
pub const PATH_PREFIX: &str = "/2015-03-31/";
/// Largest synchronous invocation payload (Lambda's 6 MB).
const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Largest asynchronous invocation payload (Lambda's 1 MB).
const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

type Shared = Weak<StackInner>;

pub(crate) fn router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .fallback(unknown_operation)
        .with_state(stack)
}

/// An error of the Lambda API, mapped to its status and `x-amzn-ErrorType` in one place.
#[derive(Debug, thiserror::Error)]
pub enum LambdaApiError {
    /// The function (or qualifier) does not exist.
    #[error("Function not found: {0}")]
    ResourceNotFound(String),
    /// A parameter is invalid.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A request field failed validation.
    #[error("{0}")]
    Validation(String),
    /// The payload is not JSON.
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    /// The payload is over the limit.
    #[error("Request must be smaller than {0} bytes for the InvokeFunction operation")]
    RequestTooLarge(usize),
    /// No such operation.
    #[error("The requested operation is not supported by this endpoint")]
    UnknownOperation,
    /// The stack is shutting down.
    #[error("The service is shutting down")]
    ServiceUnavailable,
    /// A concurrency cap is reached.
    #[error("Rate Exceeded.")]
    TooManyRequests(Throttled),
    /// The event could not be recorded in the store; it was not accepted.
    #[error("The event could not be queued: {0}")]
    QueueFailed(String),
}

impl LambdaApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            LambdaApiError::ResourceNotFound(_) => {
                (StatusCode::NOT_FOUND, "ResourceNotFoundException")
            }
            LambdaApiError::InvalidParameterValue(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValueException")
            }
            LambdaApiError::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            LambdaApiError::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
            }
            LambdaApiError::RequestTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException")
            }
            LambdaApiError::UnknownOperation => {
                (StatusCode::NOT_FOUND, "UnknownOperationException")
            }
            LambdaApiError::ServiceUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceException")
            }
            LambdaApiError::TooManyRequests(_) => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
            }
            LambdaApiError::QueueFailed(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException")
            }
        }
    }
}

impl IntoResponse for LambdaApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.parts();
        let mut body = serde_json::json!({"Type": "User", "message": self.to_string()});
        if let LambdaApiError::TooManyRequests(throttled) = &self {
            body["Reason"] = serde_json::json!(throttled.reason());
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        headers.insert("x-amzn-requestid", header(&crate::observe::ids::uuid()));
        response
    }
}

#[derive(Debug, Deserialize)]
struct InvokeQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

async fn unknown_operation() -> LambdaApiError {
    LambdaApiError::UnknownOperation
}

async fn invoke(
    State(stack): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<InvokeQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, LambdaApiError> {
    let stack = stack.upgrade().ok_or(LambdaApiError::ServiceUnavailable)?;
    let (function_name, qualifier) = parse_function_name(&name)?;
    let qualifier = match (qualifier, query.qualifier) {
        (Some(a), Some(b)) if a != b => return Err(LambdaApiError::InvalidParameterValue(
            "The derived qualifier from the function name does not match the specified qualifier."
                .into(),
        )),
        (a, b) => a.or(b),
    };
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}");
    let shown = match &qualifier {
        Some(q) => format!("{arn}:{q}"),
        None => arn,
    };
    let function = stack
        .function(function_name)
        .and_then(|f| f.qualified(qualifier.as_deref()))
        .ok_or_else(|| LambdaApiError::ResourceNotFound(shown.clone()))?;
    let kind = header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
    let limit = match kind {
        "RequestResponse" | "DryRun" => SYNC_PAYLOAD_LIMIT,
        "Event" => ASYNC_PAYLOAD_LIMIT,
        other => {
            return Err(LambdaApiError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )))
        }
    };
    let payload = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Err(LambdaApiError::RequestTooLarge(limit)),
    };
    if !payload.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<serde::de::IgnoredAny>(&payload).map_err(|e| {
            LambdaApiError::InvalidRequestContent(format!("Could not parse payload into json: {e}"))
        })?;
    }
    let log_type = header_str(&headers, "x-amz-log-type").unwrap_or("None");
    if !matches!(log_type, "None" | "Tail") {
        return Err(LambdaApiError::Validation(format!(
            "1 validation error detected: Value '{log_type}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
        )));
    }
    let client_context = match header_str(&headers, "x-amz-client-context") {
        Some(encoded) => Some(decode_client_context(encoded)?),
        None => None,
    };
    let mut invocation = Invocation::new(Payload::Raw(payload));
    invocation.client_context = client_context;
    invocation.trace_id = header_str(&headers, "x-amzn-trace-id").map(String::from);
    invocation.want_log_tail = log_type == "Tail" && kind == "RequestResponse";
    invocation.force_cold_start = crate::invoke::forces_cold_start(&headers);
    if qualifier.is_some() {
        invocation.invoked_arn = Some(shown);
    }
    match kind {
        "DryRun" => Ok(empty(StatusCode::NO_CONTENT, None)),
        "Event" => {
            let Payload::Raw(payload) = invocation.payload else {
                return Err(LambdaApiError::InvalidRequestContent(
                    "unreadable payload".into(),
                ));
            };
            let request_id = function
                .invoke_async(payload, invocation.trace_id)
                .await
                .map_err(|e| LambdaApiError::QueueFailed(e.to_string()))?;
            Ok(empty(StatusCode::ACCEPTED, Some(&request_id)))
        }
        _ => match function.try_invoke(invocation).await {
            Ok(outcome) => Ok(sync_response(outcome)),
            Err(throttled) => Err(LambdaApiError::TooManyRequests(throttled)),
        },
    }
}

fn sync_response(outcome: crate::invoke::Outcome) -> Response {
    let (body, function_error) = match outcome.result {
        Ok(payload) => match payload.into_bytes() {
            Ok(bytes) => (bytes, false),
            Err(e) => (
                Bytes::from(
                    crate::invoke::FunctionError::bad_result(e)
                        .to_json()
                        .to_string(),
                ),
                true,
            ),
        },
        Err(err) => (Bytes::from(err.to_json().to_string()), true),
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-amzn-requestid", header(&outcome.request_id));
    headers.insert("x-amz-executed-version", header(outcome.executed_version));
    if function_error {
        headers.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
    }
    if let Some(tail) = outcome.log_tail {
        let encoded = base64::engine::general_purpose::STANDARD.encode(tail.as_bytes());
        headers.insert("x-amz-log-result", header(&encoded));
    }
    response
}

fn empty(status: StatusCode, request_id: Option<&str>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let id = request_id.map_or_else(crate::observe::ids::uuid, str::to_owned);
    response
        .headers_mut()
        .insert("x-amzn-requestid", header(&id));
    response
}

/// Splits `name`, `name:qualifier`, `ACCOUNT:function:name[:q]` and full ARNs.
fn parse_function_name(raw: &str) -> Result<(&str, Option<String>), LambdaApiError> {
    let invalid = || {
        LambdaApiError::Validation(format!(
            "1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    };
    let rest = match raw.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            match parts.as_slice() {
                [_partition, "lambda", _region, _account, rest] => {
                    rest.strip_prefix("function:").ok_or_else(invalid)?
                }
                _ => return Err(invalid()),
            }
        }
        None => match raw.split_once(":function:") {
            Some((account, rest))
                if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                rest
            }
            Some(_) => return Err(invalid()),
            None => raw,
        },
    };
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q.to_owned())),
        None => (rest, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 140
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    let qualifier_ok = qualifier.as_deref().is_none_or(|q| {
        q == "$LATEST"
            || (!q.is_empty()
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    });
    if !name_ok || !qualifier_ok {
        return Err(invalid());
    }
    Ok((name, qualifier))
}

fn decode_client_context(encoded: &str) -> Result<serde_json::Value, LambdaApiError> {
    let bad = || {
        LambdaApiError::InvalidRequestContent(
            "Client context must be a valid Base64-encoded JSON object.".into(),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    // It must have the shape lambda_runtime's ClientContext takes.
    let mut probe = lambda_runtime::Context::default();
    probe.client_context = Some(serde_json::from_value(value.clone()).map_err(|_| bad())?);
    Ok(value)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_function_name_form() {
        assert_eq!(parse_function_name("hello").unwrap(), ("hello", None));
        assert_eq!(
            parse_function_name("hello:prod").unwrap(),
            ("hello", Some("prod".into()))
        );
        assert_eq!(
            parse_function_name("arn:aws:lambda:us-east-1:123456789012:function:hello").unwrap(),
            ("hello", None)
        );
        assert_eq!(
            parse_function_name("123456789012:function:hello:$LATEST").unwrap(),
            ("hello", Some("$LATEST".into()))
        );
        for bad in [
            "",
            "a b",
            "arn:aws:s3:::x",
            "arn:aws:lambda:us-east-1:123:fn:x",
            "x:",
        ] {
            assert!(parse_function_name(bad).is_err(), "{bad}");
        }
    }
}
