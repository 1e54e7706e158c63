//! Invoking a Lambda authorizer: its REQUEST event's facts, and its answer as a decision.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::lambda_authorizer::{Decision, RequestFacts, ResultCache};
use super::{lambda_authorizer, AuthContext, AuthRequest, Refusal};
use crate::gateway::error::GatewayError;
use crate::invoke::{Function, Invocation, Payload};
use crate::Clock;

/// A Lambda authorizer as one request calls it.
pub(super) struct LambdaCall<'a> {
    /// The authorizer function.
    pub function: &'a str,
    /// TOKEN (true) or REQUEST.
    pub token: bool,
    /// Result cache lifetime; zero: no cache.
    pub ttl: std::time::Duration,
    /// TOKEN: the anchored `identity_validation_expression`.
    pub validation: Option<&'a regex_lite::Regex>,
    /// The authorizer's result cache.
    pub cache: Option<&'a ResultCache>,
    /// The request's method ARN.
    pub method_arn: &'a str,
    /// The refusal when the decision denies the method (REST and HTTP APIs differ).
    pub denied: GatewayError,
}

/// Runs a TOKEN / REQUEST authorizer: the validation expression, the result cache, the call.
pub(super) async fn authorize(
    call: LambdaCall<'_>,
    identity: Vec<String>,
    req: &AuthRequest<'_>,
    functions: &HashMap<String, Arc<Function>>,
    clock: &Clock,
) -> Result<Option<AuthContext>, Refusal> {
    if let Some(re) = call.validation {
        if !re.is_match(&identity[0]) {
            return Err((
                GatewayError::Unauthorized,
                "the token does not match identity_validation_expression".into(),
            ));
        }
    }
    let key = identity.join("\u{1f}");
    let now_ms = clock.now_millis();
    let cache = call.cache;
    let cached = cache
        .filter(|_| !call.ttl.is_zero())
        .and_then(|c| c.get(&key, now_ms));
    let decision = match cached {
        Some(d) => d,
        None => {
            let event = if call.token {
                lambda_authorizer::token_event(&identity[0], call.method_arn)
            } else {
                lambda_authorizer::request_event(facts(req, call.method_arn, identity))
            };
            let decision = Arc::new(invoke(functions, call.function, event).await?);
            if let Some(cache) = cache.filter(|_| !call.ttl.is_zero()) {
                let until = now_ms + call.ttl.as_millis() as u64;
                cache.put(key, until, now_ms, decision.clone());
            }
            decision
        }
    };
    if !decision.allows(call.method_arn) {
        return Err((
            call.denied,
            format!("the authorizer denied {}", call.method_arn),
        ));
    }
    Ok(Some(match decision.as_ref() {
        Decision::Simple { context, .. } => AuthContext {
            context: context.clone(),
            ..AuthContext::default()
        },
        Decision::Policy {
            principal_id,
            context,
            usage_identifier_key,
            ..
        } => AuthContext {
            principal_id: principal_id.clone(),
            context: context.clone(),
            usage_identifier_key: usage_identifier_key.clone(),
            ..AuthContext::default()
        },
    }))
}

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
