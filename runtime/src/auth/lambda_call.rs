//! Invoking a Lambda authorizer: its REQUEST event's facts, and its answer as a decision.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::lambda_authorizer::{Decision, RequestFacts};
use super::{AuthRequest, Refusal};
use crate::gateway::error::GatewayError;
use crate::invoke::{Function, Invocation, Payload};

/// The REQUEST event's inputs.
pub(super) fn facts<'a>(
    req: &'a AuthRequest<'a>,
    method_arn: &'a str,
    identity: Vec<String>,
) -> RequestFacts<'a> {
    let headers = req
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), Value::from(v.to_str().ok()?))))
        .collect();
    let query = form_urlencoded::parse(req.query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    let stage_variables = req
        .stage_variables
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    RequestFacts {
        method_arn,
        method: req.method.as_str(),
        resource: req.resource,
        path: req.stage_path,
        headers,
        query,
        stage_variables,
        identity,
        http_api: req.http_api,
        stage: req.stage,
        api_id: req.api_id,
        source_ip: req.source_ip.to_string(),
    }
}

/// Invokes the authorizer and parses its answer.
pub(super) async fn invoke(
    functions: &HashMap<String, Arc<Function>>,
    name: &str,
    event: Value,
) -> Result<Decision, Refusal> {
    let Some(function) = functions.get(name) else {
        return Err((
            GatewayError::AuthorizerFailure,
            format!("authorizer function `{name}` is not running"),
        ));
    };
    let outcome = function.invoke(Invocation::new(Payload::Json(event))).await;
    match outcome.result {
        // A Lambda authorizer refuses by failing with the message "Unauthorized".
        Err(e) if e.error_message == "Unauthorized" => Err((
            GatewayError::Unauthorized,
            "the authorizer answered Unauthorized".into(),
        )),
        Err(e) => Err((
            GatewayError::AuthorizerFailure,
            format!("authorizer `{name}` failed: {}", e.error_message),
        )),
        Ok(payload) => payload
            .into_value()
            .ok()
            .as_ref()
            .and_then(Decision::parse)
            .ok_or_else(|| {
                (
                    GatewayError::AuthorizerFailure,
                    format!("authorizer `{name}` answered neither a policy nor a simple response"),
                )
            }),
    }
}
