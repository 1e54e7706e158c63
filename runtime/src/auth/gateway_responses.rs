//! Gateway responses: the errors the gateway itself produces, customizable per API (status,
//! headers, a body template with `$context.error.message` and friends). Defaults are AWS's.

use std::collections::BTreeMap;

use http::{HeaderMap, StatusCode};

use crate::gateway::error::GatewayError;

/// Every response type a config may name.
pub const RESPONSE_TYPES: &[&str] = &[
    "ACCESS_DENIED",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY",
    "BAD_REQUEST_PARAMETERS",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
];

/// The response type of a gateway error, as API Gateway names it.
pub fn response_type(err: &GatewayError) -> &'static str {
    match err {
        GatewayError::NotFound => "RESOURCE_NOT_FOUND",
        GatewayError::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
        GatewayError::PayloadTooLarge => "REQUEST_TOO_LARGE",
        GatewayError::BadGateway => "INTEGRATION_FAILURE",
        GatewayError::EndpointTimeout | GatewayError::ServiceUnavailable => "INTEGRATION_TIMEOUT",
        GatewayError::InvalidExecutionInput
        | GatewayError::InvalidRequestBody
        | GatewayError::RequestBodyNotJson(_) => "BAD_REQUEST_BODY",
        GatewayError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        GatewayError::MissingParameters(_) => "BAD_REQUEST_PARAMETERS",
        GatewayError::LambdaThrottled => "THROTTLED",
        GatewayError::IntegrationFailure => "INTEGRATION_FAILURE",
        GatewayError::Forbidden => "INVALID_API_KEY",
        GatewayError::Unauthorized => "UNAUTHORIZED",
        GatewayError::AccessDenied
        | GatewayError::AuthorizerDenied
        | GatewayError::PolicyDenied
        | GatewayError::IamDenied(_) => "ACCESS_DENIED",
        GatewayError::IncompleteSignature(_)
        | GatewayError::InvalidSignature(_)
        | GatewayError::UnrecognizedClient => "INVALID_SIGNATURE",
        GatewayError::AuthorizerFailure => "AUTHORIZER_FAILURE",
        GatewayError::TooManyRequests { .. } => "THROTTLED",
        GatewayError::LimitExceeded { .. } => "QUOTA_EXCEEDED",
        GatewayError::BadRequest | GatewayError::CacheInvalidationForbidden => "DEFAULT_4XX",
    }
}

/// One customized response.
#[derive(Debug, Clone, Default)]
pub struct GatewayResponse {
    /// Replaces the status.
    pub status: Option<StatusCode>,
    /// Added to (replacing) the default headers.
    pub headers: HeaderMap,
    /// Replaces the body; `$context.*` variables are substituted.
    pub body: Option<String>,
}

/// Facts a body template may use.
pub struct TemplateContext<'a> {
    /// The error's message.
    pub message: &'a str,
    /// The response type.
    pub response_type: &'a str,
    /// The request id.
    pub request_id: &'a str,
    /// The stage, or empty.
    pub stage: &'a str,
    /// The API id, or empty.
    pub api_id: &'a str,
}

/// An API's customized responses by type.
#[derive(Debug, Clone, Default)]
pub struct GatewayResponses(pub BTreeMap<String, GatewayResponse>);

impl GatewayResponses {
    /// The customization for `err`: its own type, else DEFAULT_4XX / DEFAULT_5XX.
    pub fn find(&self, err: &GatewayError) -> Option<&GatewayResponse> {
        if self.0.is_empty() {
            return None;
        }
        let default = if err.status().is_server_error() {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        self.0
            .get(response_type(err))
            .or_else(|| self.0.get(default))
    }
}

/// Substitutes `$context.error.message`, `$context.error.messageString` (a JSON string),
/// `$context.error.responseType`, `$context.requestId`, `$context.stage`, `$context.apiId`.
pub fn render(template: &str, ctx: &TemplateContext<'_>) -> String {
    let quoted = serde_json::Value::from(ctx.message).to_string();
    // Longest names first, so `messageString` is not read as `message` + "String".
    template
        .replace("$context.error.messageString", &quoted)
        .replace("$context.error.message", ctx.message)
        .replace("$context.error.responseType", ctx.response_type)
        .replace("$context.requestId", ctx.request_id)
        .replace("$context.stage", ctx.stage)
        .replace("$context.apiId", ctx.api_id)
}

/// Applies a customization to an error response the gateway built with AWS's defaults.
pub fn apply(
    custom: &GatewayResponse,
    response: &mut http::Response<axum::body::Body>,
    ctx: &TemplateContext<'_>,
) {
    if let Some(status) = custom.status {
        *response.status_mut() = status;
    }
    for (name, value) in &custom.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    if let Some(template) = &custom.body {
        *response.body_mut() = axum::body::Body::from(render(template, ctx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_variables() {
        let ctx = TemplateContext {
            message: "Unauthorized",
            response_type: "UNAUTHORIZED",
            request_id: "r1",
            stage: "dev",
            api_id: "a1",
        };
        assert_eq!(
            render(
                r#"{"m":$context.error.messageString,"t":"$context.error.responseType","r":"$context.requestId"}"#,
                &ctx
            ),
            r#"{"m":"Unauthorized","t":"UNAUTHORIZED","r":"r1"}"#
        );
    }
}
