//! Non-proxy (custom) integrations of REST APIs, as API Gateway's `AWS` (Lambda) and `HTTP`
//! integration types: a request mapping template chosen by `Content-Type` turns the request
//! into exactly what the function receives or the body the upstream gets (with
//! `passthrough_behavior` deciding what happens without one), request parameters are mapped
//! onto the upstream request, and the integration's answer goes through the integration
//! response its selection pattern picks.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};

use super::error::GatewayError;
use super::http_proxy::HttpTarget;
use super::integration_response::{Answer, IntegrationResponse, IntegrationResponses};
use super::media_templates::{media_type, MediaTemplates};
use super::mock::TemplateRequest;
use super::parameter_mapping::{RequestTarget, Source};
use super::response::ProxyResponse;
use super::router::Mount;
use crate::invoke::{Invocation, Payload};
use crate::stack::StackInner;

pub(crate) type Failure = (GatewayError, String);

/// What a non-proxy integration calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A function (`AWS` integration): it receives the mapped body as its event.
    Function(String),
    /// An HTTP backend (`HTTP` integration): it receives the mapped body and parameters.
    Http(Arc<HttpTarget>),
}

/// What happens to a request whose `Content-Type` has no mapping template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    /// The body passes through unmapped (AWS's default).
    WhenNoMatch,
    /// The body passes through only when no template is defined; otherwise 415.
    WhenNoTemplates,
    /// Always 415 `Unsupported Media Type`.
    Never,
}

impl Passthrough {
    /// Parses `WHEN_NO_MATCH`, `WHEN_NO_TEMPLATES` or `NEVER`.
    pub fn parse(text: &str) -> Result<Passthrough, String> {
        match text {
            "WHEN_NO_MATCH" => Ok(Passthrough::WhenNoMatch),
            "WHEN_NO_TEMPLATES" => Ok(Passthrough::WhenNoTemplates),
            "NEVER" => Ok(Passthrough::Never),
            other => Err(format!(
                "`passthrough_behavior = \"{other}\"` must be WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER"
            )),
        }
    }
}

/// A validated non-proxy integration.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomIntegration {
    /// The function or upstream called.
    pub backend: Backend,
    /// Without a template for the request's media type.
    pub passthrough: Passthrough,
    /// Request templates by media type.
    pub request_templates: MediaTemplates,
    /// `integration.request.* = source`, for HTTP backends.
    pub request_parameters: Vec<(RequestTarget, Source)>,
    /// The integration responses.
    pub responses: IntegrationResponses,
}

impl Eq for CustomIntegration {}

/// One request on its way through a custom integration.
pub(crate) struct Call<'a> {
    /// The stack: clock, logs, traffic.
    pub stack: &'a StackInner,
    /// The routing generation serving the request: config limits and functions.
    pub live: &'a crate::lifecycle::live::Live,
    /// The method request's head.
    pub parts: &'a http::request::Parts,
    /// Raw path parameters.
    pub params: &'a [(String, &'a str)],
    /// The API stage serving it.
    pub mount: &'a Mount,
    /// The route's resource path.
    pub resource: &'a str,
    /// The caller's address.
    pub remote: SocketAddr,
    /// The request id.
    pub request_id: &'a str,
    /// The trace id handed to functions.
    pub trace_id: &'a str,
    /// When the request arrived.
    pub time_epoch_ms: u64,
}

/// Runs a request through the integration: map, call, select the response, map it.
pub(crate) async fn run(
    integration: &CustomIntegration,
    call: Call<'_>,
    body: Bytes,
) -> Result<ProxyResponse, Failure> {
    let source_ip = call.remote.ip().to_string();
    let request = TemplateRequest::new(
        call.parts,
        &body,
        call.params,
        &call.mount.variables,
        call.request_id,
        &call.mount.stage,
        &call.mount.api_id,
        call.resource,
        &source_ip,
        call.time_epoch_ms,
    )?;
    let (mapped, content_type) = map_request(integration, &call, &request)?;
    let accept = call.parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    match &integration.backend {
        Backend::Function(name) => {
            let (selector, body) = invoke(&call, name, mapped).await?;
            let response = select(&integration.responses, selector.as_deref())?;
            let answer = Answer {
                body: &body,
                headers: &HeaderMap::new(),
                content_type: HeaderValue::from_static("application/json"),
            };
            response.respond(&request, accept, &answer)
        }
        Backend::Http(target) => {
            let upstream = super::custom_http::upstream_request(
                integration,
                target,
                &call,
                &request,
                mapped,
                content_type,
            )?;
            let (head, body) = super::custom_http::send(target, &call, upstream).await?;
            let response = select(
                &integration.responses,
                Some(&head.status.as_u16().to_string()),
            )?;
            let answer = Answer {
                body: &body,
                headers: &head.headers,
                content_type: head
                    .headers
                    .get(CONTENT_TYPE)
                    .cloned()
                    .unwrap_or(HeaderValue::from_static("application/json")),
            };
            response.respond(&request, accept, &answer)
        }
    }
}

fn select<'r>(
    responses: &'r IntegrationResponses,
    selector: Option<&str>,
) -> Result<&'r IntegrationResponse, Failure> {
    responses.select(selector).ok_or_else(|| {
        (
            GatewayError::IntegrationFailure,
            format!(
                "no integration response matches `{}` and none is the default",
                selector.unwrap_or("")
            ),
        )
    })
}

/// The integration request's body, and its `Content-Type` when known.
fn map_request(
    integration: &CustomIntegration,
    call: &Call<'_>,
    request: &TemplateRequest<'_>,
) -> Result<(String, Option<HeaderValue>), Failure> {
    let header = call.parts.headers.get(CONTENT_TYPE);
    let media = header
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "application/json".to_owned(), media_type);
    if let Some((key, template)) = integration.request_templates.for_content_type(&media) {
        return Ok((request.render(template)?, HeaderValue::from_str(key).ok()));
    }
    let passes = match integration.passthrough {
        Passthrough::WhenNoMatch => true,
        Passthrough::WhenNoTemplates => integration.request_templates.is_empty(),
        Passthrough::Never => false,
    };
    if !passes {
        return Err((
            GatewayError::UnsupportedMediaType,
            format!("no request template for `{media}`"),
        ));
    }
    Ok((request.input.body.to_owned(), header.cloned()))
}

/// Invokes the function with the mapped body as its event; returns the error message to
/// select on (`None` on success) and the integration response body.
async fn invoke(
    call: &Call<'_>,
    name: &str,
    mapped: String,
) -> Result<(Option<String>, Vec<u8>), Failure> {
    // An empty body reaches the function as an empty object, as API Gateway sends it.
    let event = if mapped.trim().is_empty() {
        "{}".to_owned()
    } else {
        mapped
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&event) {
        let detail = e.to_string().replace(['"', '\\'], "'");
        return Err((
            GatewayError::RequestBodyNotJson(detail.into()),
            e.to_string(),
        ));
    }
    let Some(function) = crate::invoke::resolve_target(&call.live.functions, name) else {
        return Err((
            GatewayError::BadGateway,
            format!("function `{name}` is not running"),
        ));
    };
    let mut invocation = Invocation::new(Payload::Raw(Bytes::from(event)));
    invocation.trace_id = Some(call.trace_id.to_owned());
    invocation.force_cold_start = crate::invoke::forces_cold_start(&call.parts.headers);
    let timeout = call.live.config.server.integration_timeout;
    // A function whose own timeout comes first needs no second timer.
    let outcome = if function.settings().timeout <= timeout {
        Ok(function.try_invoke(invocation).await)
    } else {
        call.stack
            .clock
            .timeout(timeout, function.try_invoke(invocation))
            .await
    };
    let to_json = |v: &serde_json::Value| {
        serde_json::to_vec(v).map_err(|e| (GatewayError::BadGateway, e.to_string()))
    };
    match outcome {
        Err(_) => Err((
            GatewayError::EndpointTimeout,
            format!("integration timed out after {timeout:?}"),
        )),
        Ok(Err(throttled)) => Err((
            GatewayError::IntegrationFailure,
            format!("function throttled: {}", throttled.reason()),
        )),
        Ok(Ok(outcome)) => match outcome.result {
            Ok(payload) => {
                let value = payload
                    .into_value()
                    .map_err(|e| (GatewayError::BadGateway, e.to_string()))?;
                Ok((None, to_json(&value)?))
            }
            Err(error) => Ok((
                Some(error.error_message.clone()),
                to_json(&error.to_json())?,
            )),
        },
    }
}
