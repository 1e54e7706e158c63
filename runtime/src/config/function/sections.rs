//! The `[lambda]` and `[functions.NAME]` tables this feature adds, as written.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// `[lambda]`: account-wide settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSection {
    /// Concurrent invocations allowed across all functions (Lambda's default 1000).
    pub account_concurrency: Option<Spanned<i64>>,
}

/// `cold_start = "250ms"` or `cold_start = { p50 = "200ms", p99 = "1s" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ColdStartSection {
    /// A fixed delay.
    Fixed(String),
    /// A log-normal distribution with this median and 99th percentile.
    Distribution(ColdStartDistribution),
}

/// `{ p50 = "...", p99 = "..." }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColdStartDistribution {
    /// Median init delay.
    pub p50: String,
    /// 99th percentile init delay.
    pub p99: String,
}

/// `[functions.NAME.async]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncSection {
    /// Retries after a function error, 0 to 2 (default 2).
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    /// Drop events older than this, `60s` to `6h` (default `6h`).
    pub maximum_event_age: Option<Spanned<String>>,
    /// Wait before the first retry, doubling after (default `1m`, as Lambda).
    pub retry_delay: Option<Spanned<String>>,
    /// `function:NAME` or `file:PATH` for successful invocations.
    pub on_success: Option<Spanned<String>>,
    /// `function:NAME` or `file:PATH` for failed or expired events.
    pub on_failure: Option<Spanned<String>>,
}

/// `[[functions.NAME.versions]]`: what differs from the function's own settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSection {
    /// The registered handler this version runs.
    pub handler: Option<Spanned<String>>,
    /// The external program this version runs.
    pub command: Option<Spanned<Vec<String>>>,
    /// Memory in MB.
    pub memory_mb: Option<Spanned<i64>>,
    /// Invocation timeout.
    pub timeout: Option<Spanned<String>>,
    /// Environment variables (replace the function's).
    pub environment: Option<BTreeMap<String, String>>,
    /// Free text.
    pub description: Option<String>,
}

/// `[functions.NAME.aliases.ALIAS]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSection {
    /// The version the alias points to (`$LATEST` or a number).
    pub version: Spanned<String>,
    /// A second version taking `weight` of the traffic.
    pub additional_version: Option<Spanned<String>>,
    /// Fraction of invocations for `additional_version`, between 0 and 1.
    pub weight: Option<Spanned<f64>>,
}
