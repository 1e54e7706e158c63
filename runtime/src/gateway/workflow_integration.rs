//! Routes that start a workflow (answering with the execution ARN and start date, as
//! StartExecution does) or run an EXPRESS workflow to the end (answering with its output).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::error::GatewayError;
use super::response::ProxyResponse;
use crate::stack::StackInner;
use crate::workflow::{Execution, ExecutionStatus, ExecutionTrace};

/// Runs a workflow route's integration.
pub(crate) async fn run(
    stack: &StackInner,
    name: &str,
    sync: bool,
    body: &Bytes,
    trace: ExecutionTrace,
) -> Result<ProxyResponse, (GatewayError, String)> {
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        "{}".to_owned()
    } else {
        match std::str::from_utf8(body)
            .ok()
            .filter(|t| serde_json::from_str::<serde_json::Value>(t).is_ok())
        {
            Some(text) => text.to_owned(),
            None => {
                return Err((
                    GatewayError::InvalidExecutionInput,
                    "the body is not JSON".into(),
                ))
            }
        }
    };
    let arn = state_machine_arn(name);
    if !sync {
        let (execution_arn, start) = stack
            .workflows
            .start_execution_traced(&arn, None, Some(input), Some(trace))
            .await
            .map_err(|e| {
                (
                    GatewayError::BadGateway,
                    format!("workflow `{name}` did not start: {e}"),
                )
            })?;
        let started = start
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        return Ok(json_response(
            StatusCode::OK,
            json!({"executionArn": execution_arn, "startDate": started}),
        ));
    }
    let execution = stack
        .workflows
        .start_sync_execution_traced(&arn, None, Some(input), Some(trace))
        .await
        .map_err(|e| {
            (
                GatewayError::BadGateway,
                format!("workflow `{name}` did not run: {e}"),
            )
        })?;
    finished(name, execution)
}

fn finished(name: &str, execution: Execution) -> Result<ProxyResponse, (GatewayError, String)> {
    match execution.status {
        ExecutionStatus::Succeeded => Ok(json_response(
            StatusCode::OK,
            execution.output.unwrap_or(serde_json::Value::Null),
        )),
        status => {
            let error = execution.error.unwrap_or_default();
            let cause = execution.cause.unwrap_or_default();
            // The workflow's own errors (a Fail state, a function's errorType) are the caller's
            // business; the engine's and the runtime's are internal and stay in the log.
            let internal = error.is_empty()
                || ["States.", "Sandbox.", "Runtime.", "Lambda."]
                    .iter()
                    .any(|p| error.starts_with(p));
            if status == ExecutionStatus::Failed && !internal {
                Ok(json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": error, "cause": cause}),
                ))
            } else {
                Err((
                    GatewayError::BadGateway,
                    format!("workflow `{name}` ended {status:?}: {error}: {cause}"),
                ))
            }
        }
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> ProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    ProxyResponse {
        status,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// The ARN of a state machine declared in config.
pub(crate) fn state_machine_arn(name: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:stateMachine:{name}",
        crate::invoke::REGION,
        crate::invoke::ACCOUNT_ID
    )
}
