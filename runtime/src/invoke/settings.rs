//! A function's settings, resolved from config with Lambda's defaults: limits, cold starts,
//! concurrency, asynchronous invocation, and how its instances are made.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::observe::{ids, LogFormat};

/// How long a new instance takes to initialize, on top of the init code itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColdStart {
    /// Always this long.
    Fixed(Duration),
    /// Log-normally distributed with this median and 99th percentile, so tails show up.
    Distribution {
        /// Median init delay.
        p50: Duration,
        /// 99th percentile init delay.
        p99: Duration,
    },
}

impl ColdStart {
    /// One init delay drawn from the setting.
    pub fn sample(&self) -> Duration {
        match *self {
            ColdStart::Fixed(d) => d,
            ColdStart::Distribution { p50, p99 } => {
                // ln X ~ N(mu, sigma): mu = ln p50 and p99 = p50 * e^(2.326 sigma).
                let median = p50.as_secs_f64();
                if median <= 0.0 || p99 <= p50 {
                    return p50;
                }
                let sigma = (p99.as_secs_f64() / median).ln() / 2.326_347_874;
                let z = standard_normal();
                Duration::from_secs_f64((median * (sigma * z).exp()).min(900.0))
            }
        }
    }
}

/// Box–Muller on two uniform draws.
fn standard_normal() -> f64 {
    let u1 = ids::unit_f64().max(f64::MIN_POSITIVE);
    let u2 = ids::unit_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Where an asynchronous invocation's record goes when it succeeds or finally fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Invoke another function (asynchronously) with the destination record.
    Function(String),
    /// Append the record as one JSON line to a file (a dead-letter file).
    File(PathBuf),
}

/// Lambda's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncSettings {
    /// Retries after a function error, 0 to 2 (Lambda's default 2).
    pub maximum_retry_attempts: u32,
    /// Events older than this are dropped, 60 s to 6 h (Lambda's default 6 h).
    pub maximum_event_age: Duration,
    /// Wait before the first retry after a function error; doubles for each later retry
    /// (Lambda waits 1 minute, then 2).
    pub retry_delay: Duration,
    /// Where successful invocations are recorded.
    pub on_success: Option<Destination>,
    /// Where failed or dropped events are recorded.
    pub on_failure: Option<Destination>,
}

impl Default for AsyncSettings {
    fn default() -> Self {
        AsyncSettings {
            maximum_retry_attempts: 2,
            maximum_event_age: Duration::from_secs(6 * 3600),
            retry_delay: Duration::from_secs(60),
            on_success: None,
            on_failure: None,
        }
    }
}

/// The settings of a function, resolved from config with Lambda's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSettings {
    /// Memory in MB (Lambda's default 128).
    pub memory_mb: u32,
    /// How long an invocation may run (Lambda's default 3 s).
    pub timeout: Duration,
    /// Environment variables visible through [`crate::Context::env`] (and, for external
    /// programs, their real environment).
    pub environment: HashMap<String, String>,
    /// Text or JSON logs.
    pub log_format: LogFormat,
    /// Simulated init delay of a new instance (default none).
    pub cold_start: ColdStart,
    /// How long an unused instance is kept warm (default 10 minutes).
    pub idle_timeout: Duration,
    /// Instances kept initialized from start-up, never evicted (default 0).
    pub provisioned_concurrency: u32,
    /// Cap on concurrent invocations of this function (default: only the account's cap).
    pub reserved_concurrency: Option<u32>,
    /// Retries, event age and destinations of `Event` invocations.
    pub asynchronous: AsyncSettings,
    /// An external program serving the Lambda Runtime API, instead of a registered handler.
    pub command: Option<Vec<String>>,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            environment: HashMap::new(),
            log_format: LogFormat::Text,
            cold_start: ColdStart::Fixed(Duration::ZERO),
            idle_timeout: Duration::from_secs(600),
            provisioned_concurrency: 0,
            reserved_concurrency: None,
            asynchronous: AsyncSettings::default(),
            command: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_samples_have_the_configured_median_and_tail() {
        let cs = ColdStart::Distribution {
            p50: Duration::from_millis(100),
            p99: Duration::from_millis(400),
        };
        let mut samples: Vec<f64> = (0..20_000).map(|_| cs.sample().as_secs_f64()).collect();
        samples.sort_by(f64::total_cmp);
        let p50 = samples[10_000];
        let p99 = samples[19_800];
        assert!((p50 - 0.100).abs() < 0.01, "p50 {p50}");
        assert!((p99 - 0.400).abs() < 0.06, "p99 {p99}");
    }
}
