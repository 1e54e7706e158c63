//! Every error the gateway itself answers with, mapped to AWS's status and body in one place.

use http::StatusCode;

/// An error response produced by the gateway (not by a function).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A workflow route's body is not JSON.
    #[error("Invalid request body: the execution input must be JSON")]
    InvalidExecutionInput,
    /// The body does not match the route's model (request validation).
    #[error("Invalid request body")]
    InvalidRequestBody,
    /// Parameters the route's validator requires are missing, listed as AWS lists them.
    #[error("Missing required request parameters: [{0}]")]
    MissingParameters(std::sync::Arc<str>),
    /// `Cache-Control: max-age=0` from a caller not allowed to invalidate (`FAIL_WITH_403`).
    #[error("Unauthorized")]
    CacheInvalidationForbidden,
    /// The route requires an API key and none valid was sent.
    #[error("Forbidden")]
    Forbidden,
    /// A throttle (account, stage, route or usage plan) is empty.
    #[error("Too Many Requests")]
    TooManyRequests {
        /// Seconds until a token is available, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// No valid identity: a missing or bad token, or an authorizer's `Unauthorized`.
    #[error("Unauthorized")]
    Unauthorized,
    /// REST API: the authorizer's policy denies the method, or scopes are lacking.
    #[error("User is not authorized to access this resource")]
    AccessDenied,
    /// HTTP API: the authorizer denies the route, or the token lacks its scopes.
    #[error("Forbidden")]
    AuthorizerDenied,
    /// The resource policy refuses the caller's address.
    #[error("User: anonymous is not authorized to perform: execute-api:Invoke")]
    PolicyDenied,
    /// A Lambda authorizer failed or answered nonsense.
    #[error("Internal Server Error")]
    AuthorizerFailure,
    /// The key's usage plan quota is used up for this period.
    #[error("Limit Exceeded")]
    LimitExceeded {
        /// Seconds until the next quota period, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// IAM routes: the `Authorization` header lacks a SigV4 part (AWS's message).
    #[error("{0}")]
    IncompleteSignature(std::sync::Arc<str>),
    /// IAM routes: bad or expired signature, or a wrong credential scope (AWS's message).
    #[error("{0}")]
    InvalidSignature(std::sync::Arc<str>),
    /// IAM routes: the access key is not declared.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// IAM routes: the signer's principal may not invoke the route (AWS's message).
    #[error("{0}")]
    IamDenied(std::sync::Arc<str>),
    /// HTTP API: the Lambda integration was throttled.
    #[error("Too Many Requests")]
    LambdaThrottled,
    /// REST API: the Lambda integration failed before running (e.g. throttled).
    #[error("Internal server error")]
    IntegrationFailure,
    /// A non-proxy integration has no request template for the body's media type and its
    /// passthrough behavior refuses the body.
    #[error("Unsupported Media Type")]
    UnsupportedMediaType,
    /// A non-proxy function integration's (mapped) body is not JSON, so no event.
    #[error("Could not parse request body into json: {0}")]
    RequestBodyNotJson(std::sync::Arc<str>),
}

impl GatewayError {
    /// The status code API Gateway uses.
    pub fn status(&self) -> StatusCode {
        match *self {
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            GatewayError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::BadGateway => StatusCode::BAD_GATEWAY,
            GatewayError::EndpointTimeout => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::BadRequest
            | GatewayError::InvalidExecutionInput
            | GatewayError::InvalidRequestBody
            | GatewayError::MissingParameters(_)
            | GatewayError::RequestBodyNotJson(_) => StatusCode::BAD_REQUEST,
            GatewayError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GatewayError::Unauthorized => StatusCode::UNAUTHORIZED,
            GatewayError::AuthorizerFailure => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::CacheInvalidationForbidden
            | GatewayError::Forbidden
            | GatewayError::AccessDenied
            | GatewayError::AuthorizerDenied
            | GatewayError::PolicyDenied
            | GatewayError::IncompleteSignature(_)
            | GatewayError::InvalidSignature(_)
            | GatewayError::UnrecognizedClient
            | GatewayError::IamDenied(_) => StatusCode::FORBIDDEN,
            GatewayError::TooManyRequests { .. } | GatewayError::LimitExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::LambdaThrottled => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::IntegrationFailure => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `x-amzn-ErrorType` header API Gateway sets, where it sets one.
    pub fn error_type(&self) -> Option<&'static str> {
        match *self {
            GatewayError::MissingAuthenticationToken => Some("MissingAuthenticationTokenException"),
            GatewayError::BadGateway | GatewayError::IntegrationFailure => {
                Some("InternalServerErrorException")
            }
            GatewayError::Forbidden | GatewayError::AuthorizerDenied => Some("ForbiddenException"),
            GatewayError::Unauthorized => Some("UnauthorizedException"),
            GatewayError::AccessDenied
            | GatewayError::PolicyDenied
            | GatewayError::IamDenied(_) => Some("AccessDeniedException"),
            GatewayError::IncompleteSignature(_) => Some("IncompleteSignatureException"),
            GatewayError::InvalidSignature(_) => Some("InvalidSignatureException"),
            GatewayError::UnrecognizedClient => Some("UnrecognizedClientException"),
            GatewayError::AuthorizerFailure => Some("AuthorizerConfigurationException"),
            GatewayError::TooManyRequests { .. } => Some("TooManyRequestsException"),
            GatewayError::LimitExceeded { .. } => Some("LimitExceededException"),
            _ => None,
        }
    }

    /// Seconds for a `Retry-After` header (AWS sends none; clients benefit from it).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match *self {
            GatewayError::TooManyRequests { retry_after_secs }
            | GatewayError::LimitExceeded { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        }
    }

    /// What API Gateway answers when Lambda throttles the integration: an HTTP API says 429
    /// `Too Many Requests`; a REST API's proxy integration fails with 500 `Internal server
    /// error` (its INTEGRATION_FAILURE / DEFAULT_5XX response), as AWS documents.
    pub fn throttled_lambda(kind: crate::config::ApiKind) -> Self {
        match kind {
            crate::config::ApiKind::Http => GatewayError::LambdaThrottled,
            crate::config::ApiKind::Rest => GatewayError::IntegrationFailure,
        }
    }

    /// The JSON body: `{"message":"..."}`.
    pub fn body(&self) -> String {
        // Some messages carry request facts (a path, a date), so they are JSON-escaped.
        serde_json::json!({ "message": self.to_string() }).to_string()
    }
}
