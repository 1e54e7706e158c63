//! Traffic errors: [`TrafficRejection`] for requests, [`TrafficError`] for setup and management.

use std::time::Duration;

use super::config::ConfigIssue;
use crate::store::StoreError;

/// The throttle level that rejected a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleLevel {
    /// The account-wide bucket.
    Account,
    /// The stage's default method throttling (a bucket per route).
    Stage,
    /// A route's own override in the stage settings.
    Route,
    /// The usage plan's per-key throttle.
    UsagePlan,
    /// A usage plan's per-key throttle for one route.
    UsagePlanRoute,
}

/// Why a key-required request was refused with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenReason {
    /// No `x-api-key` header.
    MissingKey,
    /// The value matches no key.
    UnknownKey,
    /// The key exists but is disabled.
    DisabledKey,
    /// The key belongs to no usage plan that covers this API stage.
    NoUsagePlan,
}

/// Why [`super::TrafficControl::admit`] refused a request; each maps to API Gateway's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrafficRejection {
    /// 403 `{"message":"Forbidden"}`.
    #[error("forbidden: {0:?}")]
    Forbidden(ForbiddenReason),
    /// 429 `{"message":"Too Many Requests"}`.
    #[error("throttled at {level:?} level")]
    Throttled {
        /// Which bucket was empty.
        level: ThrottleLevel,
        /// When a token will be available.
        retry_after: Duration,
    },
    /// 429 `{"message":"Limit Exceeded"}`.
    #[error("quota exceeded")]
    QuotaExceeded {
        /// Until the next quota period starts.
        retry_after: Duration,
    },
    /// 500 `{"message":"Internal server error"}`: the store behind quotas failed.
    #[error("quota store failed: {0}")]
    StoreFailed(String),
    /// 503 `{"message":"Service Unavailable"}`: the shared store is unreachable and fails
    /// closed, so nothing is admitted that it would have to count.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
}

impl From<StoreError> for TrafficRejection {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => TrafficRejection::StoreUnavailable(e.to_string()),
            other => TrafficRejection::StoreFailed(other.to_string()),
        }
    }
}

impl TrafficRejection {
    /// The HTTP status and the `message` API Gateway puts in the body.
    pub fn status_and_message(&self) -> (u16, &'static str) {
        match self {
            TrafficRejection::Forbidden(_) => (403, "Forbidden"),
            TrafficRejection::Throttled { .. } => (429, "Too Many Requests"),
            TrafficRejection::QuotaExceeded { .. } => (429, "Limit Exceeded"),
            TrafficRejection::StoreFailed(_) => (500, "Internal server error"),
            TrafficRejection::StoreUnavailable(_) => (503, "Service Unavailable"),
        }
    }

    /// Whole seconds for a `Retry-After` header (at least 1), for 429 answers.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            TrafficRejection::Throttled { retry_after, .. }
            | TrafficRejection::QuotaExceeded { retry_after } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            _ => None,
        }
    }
}

/// Errors from building traffic control and from its management operations.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// The configuration is invalid; every issue is listed.
    #[error("invalid traffic configuration: {}", join(.0))]
    InvalidConfig(Vec<ConfigIssue>),
    /// A management request is malformed (AWS `BadRequestException`, 400).
    #[error("{0}")]
    BadRequest(String),
    /// An id names nothing (AWS `NotFoundException`, 404).
    #[error("Invalid {kind} identifier specified")]
    NotFound {
        /// `"API Key"`, `"Usage Plan"`, ...
        kind: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The request conflicts with existing state (AWS `ConflictException`, 409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TrafficError {
    /// The HTTP status and AWS error type the management API answers with.
    pub fn status_and_type(&self) -> (u16, &'static str) {
        match self {
            TrafficError::InvalidConfig(_) | TrafficError::BadRequest(_) => {
                (400, "BadRequestException")
            }
            TrafficError::NotFound { .. } => (404, "NotFoundException"),
            TrafficError::Conflict(_) => (409, "ConflictException"),
            TrafficError::Store(_) => (500, "InternalFailure"),
        }
    }
}

fn join(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
