//! API Gateway traffic management: API keys, usage plans, throttles, quotas, usage metering.
//!
//! The pipeline builds one [`TrafficControl`] per stack and calls [`TrafficControl::admit`]
//! for every request after authorization; a [`TrafficRejection`] says which AWS answer to
//! send. Management operations (`create_api_key`, `get_usage`, ...) return the exact JSON
//! bodies API Gateway's REST API returns.

mod config;
mod control;
mod counters;
mod error;
mod keys;
mod limiter;
mod manage;
mod period;
mod persist;
mod plan;
mod quota;
mod shared_admit;
mod shared_keys;
mod shared_throttle;
mod throttle;
mod usage;
mod validate;
mod wire;

#[cfg(test)]
mod tests;

pub use config::{
    ApiKeyConfig, ConfigIssue, PlanStageConfig, QuotaSettings, StageThrottleConfig,
    ThrottleSettings, TrafficConfig, UsagePlanConfig, DEFAULT_ACCOUNT_BURST, DEFAULT_ACCOUNT_RATE,
    MIN_KEY_VALUE_LEN,
};
pub use control::{Admission, TrafficControl};
pub use counters::{KeyCounters, KeySnapshot, TrafficCounters, TrafficSnapshot};
pub use error::{ForbiddenReason, ThrottleLevel, TrafficError, TrafficRejection};
pub use keys::{ApiKey, ApiKeys, KeyValue, NewApiKey};
pub use manage::{CreateApiKeyRequest, ItemPage, Page, StageKey};
pub use period::QuotaPeriod;
pub use plan::{PlanQuota, PlanStage, UsagePlan};
pub use quota::Quotas;
pub use throttle::Throttles;
pub use usage::{Usage, UsageReport, MAX_USAGE_DAYS, USAGE_RETENTION};
pub use wire::{
    ApiKeyBody, ApiStageBody, QuotaBody, ThrottleBody, UsagePlanBody, UsagePlanKeyBody,
};
