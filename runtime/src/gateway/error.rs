//! Every error the gateway itself answers with, mapped to AWS's status and body in one place.

use http::StatusCode;

/// An error response produced by the gateway (not by a function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// HTTP API: no route matches.
    #[error("Not Found")]
    NotFound,
    /// REST API (or no API at all): no route matches.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The body is over the configured limit.
    #[error("Request Entity Too Large")]
    PayloadTooLarge,
    /// The function failed, or its response was malformed.
    #[error("Internal server error")]
    BadGateway,
    /// The integration did not answer in time (REST API).
    #[error("Endpoint request timed out")]
    EndpointTimeout,
    /// The integration did not answer in time (HTTP API).
    #[error("Service Unavailable")]
    ServiceUnavailable,
    /// The request could not be read.
    #[error("Bad Request")]
    BadRequest,
    /// HTTP API: the Lambda integration was throttled.
    #[error("Too Many Requests")]
    TooManyRequests,
    /// REST API: the Lambda integration failed before running (e.g. throttled).
    #[error("Internal server error")]
    IntegrationFailure,
}

impl GatewayError {
    /// The status code API Gateway uses.
    pub fn status(self) -> StatusCode {
        match self {
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            GatewayError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::BadGateway => StatusCode::BAD_GATEWAY,
            GatewayError::EndpointTimeout => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::BadRequest => StatusCode::BAD_REQUEST,
            GatewayError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::IntegrationFailure => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `x-amzn-ErrorType` header API Gateway sets, where it sets one.
    pub fn error_type(self) -> Option<&'static str> {
        match self {
            GatewayError::MissingAuthenticationToken => Some("MissingAuthenticationTokenException"),
            GatewayError::BadGateway | GatewayError::IntegrationFailure => {
                Some("InternalServerErrorException")
            }
            _ => None,
        }
    }

    /// What API Gateway answers when Lambda throttles the integration: an HTTP API says 429
    /// `Too Many Requests`; a REST API's proxy integration fails with 500 `Internal server
    /// error` (its INTEGRATION_FAILURE / DEFAULT_5XX response), as AWS documents.
    pub fn throttled_lambda(kind: crate::config::ApiKind) -> Self {
        match kind {
            crate::config::ApiKind::Http => GatewayError::TooManyRequests,
            crate::config::ApiKind::Rest => GatewayError::IntegrationFailure,
        }
    }

    /// The JSON body: `{"message":"..."}`.
    pub fn body(self) -> String {
        format!("{{\"message\":\"{self}\"}}")
    }
}
