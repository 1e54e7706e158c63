//! Configuration for API keys, usage plans and throttles (`[[api_keys]]`, `[[usage_plans]]`,
//! account/stage/route throttle settings), and its validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// AWS's default account-level steady-state rate, in requests per second.
pub const DEFAULT_ACCOUNT_RATE: f64 = 10_000.0;
/// AWS's default account-level burst.
pub const DEFAULT_ACCOUNT_BURST: i64 = 5_000;
/// The shortest API key value API Gateway accepts.
pub const MIN_KEY_VALUE_LEN: usize = 20;

/// Everything traffic management needs from the gateway configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Account-wide throttle shared by every API and stage; AWS's 10,000 rps / 5,000 burst
    /// when absent.
    #[serde(default)]
    pub account_throttle: Option<ThrottleSettings>,
    /// Stage-level default method throttling and per-route overrides.
    #[serde(default)]
    pub stages: Vec<StageThrottleConfig>,
    /// API keys declared up front (`[[api_keys]]`).
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// Usage plans (`[[usage_plans]]`).
    #[serde(default)]
    pub usage_plans: Vec<UsagePlanConfig>,
}

/// A token bucket: `rate_limit` requests per second refill a bucket of `burst_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Steady-state requests per second; must be greater than 0.
    pub rate_limit: f64,
    /// Bucket size: the most requests admitted at once; at least 1 and not below the rate.
    pub burst_limit: i64,
}

/// Default method throttling of one stage, with per-route overrides.
///
/// As in API Gateway, the stage default applies to each route separately (every route gets
/// its own bucket of that size); a route listed in `routes` uses its own settings instead.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageThrottleConfig {
    /// The API's name or id.
    pub api: String,
    /// The stage name.
    pub stage: String,
    /// Default method throttling for every route of the stage.
    #[serde(default)]
    pub throttle: Option<ThrottleSettings>,
    /// Per-route overrides keyed by route key, e.g. `"GET /pets"`.
    #[serde(default)]
    pub routes: BTreeMap<String, ThrottleSettings>,
}

/// An API key declared in configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Display name; unique among keys.
    pub name: String,
    /// The key value clients send in `x-api-key`; generated (40 characters) when absent.
    #[serde(default)]
    pub value: Option<String>,
    /// Disabled keys are rejected with 403 like unknown ones.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Free-form description returned by the management API.
    #[serde(default)]
    pub description: Option<String>,
    /// Ids of the usage plans this key belongs to.
    #[serde(default)]
    pub usage_plans: Vec<String>,
}

/// A usage plan: which API stages it covers, and the throttle and quota per key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanConfig {
    /// Identifier used by keys and the management API; unique among plans.
    pub id: String,
    /// Display name; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// Free-form description returned by the management API.
    #[serde(default)]
    pub description: Option<String>,
    /// The API stages the plan applies to.
    #[serde(default)]
    pub stages: Vec<PlanStageConfig>,
    /// Per-key throttle across the plan.
    #[serde(default)]
    pub throttle: Option<ThrottleSettings>,
    /// Per-key request quota across the plan.
    #[serde(default)]
    pub quota: Option<QuotaSettings>,
}

/// One API stage of a usage plan, with optional per-route throttles per key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStageConfig {
    /// The API's name or id.
    pub api: String,
    /// The stage name.
    pub stage: String,
    /// Per-route throttles per key keyed by route key (`"GET /pets"`); they replace the
    /// plan's throttle for that route.
    #[serde(default)]
    pub throttle: BTreeMap<String, ThrottleSettings>,
}

/// A request quota per key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// Requests allowed per period; greater than 0.
    pub limit: i64,
    /// `"DAY"`, `"WEEK"` or `"MONTH"`, in UTC.
    pub period: String,
    /// Day the period starts: 0 for DAY; 0 (Sunday) to 6 for WEEK; 0 (the 1st) to 27 for MONTH.
    #[serde(default)]
    pub offset: i64,
}

fn default_true() -> bool {
    true
}

/// One problem found by [`TrafficConfig::validate`], located by its path in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path to the offending value, e.g. `usage_plans[0].quota.period`.
    pub path: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
