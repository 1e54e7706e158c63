//! Counters of admission outcomes, overall and per API key: plain atomics a metrics module
//! reads (CloudWatch's `Count` and `4XXError`, throttles per key).

use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{ThrottleLevel, TrafficRejection};

const LEVELS: usize = 5;

/// Outcomes of every [`super::TrafficControl::admit`] call.
#[derive(Debug, Default)]
pub struct TrafficCounters {
    admitted: AtomicU64,
    forbidden: AtomicU64,
    throttled: [AtomicU64; LEVELS],
    quota_exceeded: AtomicU64,
    failed: AtomicU64,
}

/// A consistent-enough reading of [`TrafficCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficSnapshot {
    /// Requests admitted.
    pub admitted: u64,
    /// 403: missing, unknown or disabled key, or a key without a plan for the stage.
    pub forbidden: u64,
    /// 429 at the account bucket.
    pub throttled_account: u64,
    /// 429 at a stage's default bucket.
    pub throttled_stage: u64,
    /// 429 at a route's own bucket.
    pub throttled_route: u64,
    /// 429 at a usage plan's per-key bucket.
    pub throttled_usage_plan: u64,
    /// 429 at a usage plan's per-key bucket for one route.
    pub throttled_usage_plan_route: u64,
    /// 429 `Limit Exceeded`.
    pub quota_exceeded: u64,
    /// The quota store failed (answered 5XX).
    pub failed: u64,
}

impl TrafficSnapshot {
    /// Every request that reached admission (`Count`).
    pub fn count(&self) -> u64 {
        self.admitted + self.failed + self.client_errors()
    }

    /// Requests refused with a 4XX status (`4XXError`).
    pub fn client_errors(&self) -> u64 {
        self.forbidden + self.throttled() + self.quota_exceeded
    }

    /// Requests throttled at any level.
    pub fn throttled(&self) -> u64 {
        self.throttled_account
            + self.throttled_stage
            + self.throttled_route
            + self.throttled_usage_plan
            + self.throttled_usage_plan_route
    }
}

impl TrafficCounters {
    pub(crate) fn record<T>(&self, result: &Result<T, TrafficRejection>) {
        let counter = match result {
            Ok(_) => &self.admitted,
            Err(TrafficRejection::Forbidden(_)) => &self.forbidden,
            Err(TrafficRejection::Throttled { level, .. }) => &self.throttled[level_index(*level)],
            Err(TrafficRejection::QuotaExceeded { .. }) => &self.quota_exceeded,
            Err(TrafficRejection::StoreFailed(_) | TrafficRejection::StoreUnavailable(_)) => {
                &self.failed
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> TrafficSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TrafficSnapshot {
            admitted: get(&self.admitted),
            forbidden: get(&self.forbidden),
            throttled_account: get(&self.throttled[0]),
            throttled_stage: get(&self.throttled[1]),
            throttled_route: get(&self.throttled[2]),
            throttled_usage_plan: get(&self.throttled[3]),
            throttled_usage_plan_route: get(&self.throttled[4]),
            quota_exceeded: get(&self.quota_exceeded),
            failed: get(&self.failed),
        }
    }
}

fn level_index(level: ThrottleLevel) -> usize {
    match level {
        ThrottleLevel::Account => 0,
        ThrottleLevel::Stage => 1,
        ThrottleLevel::Route => 2,
        ThrottleLevel::UsagePlan => 3,
        ThrottleLevel::UsagePlanRoute => 4,
    }
}

/// Outcomes of requests that presented a known key; shared by every version of the key.
#[derive(Debug, Default)]
pub struct KeyCounters {
    admitted: AtomicU64,
    forbidden: AtomicU64,
    throttled: AtomicU64,
    quota_exceeded: AtomicU64,
}

/// A reading of [`KeyCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeySnapshot {
    /// Requests admitted with the key.
    pub admitted: u64,
    /// Refused with 403: the key is disabled or has no plan for the stage.
    pub forbidden: u64,
    /// Refused with 429 `Too Many Requests` at any level.
    pub throttled: u64,
    /// Refused with 429 `Limit Exceeded`.
    pub quota_exceeded: u64,
}

impl KeyCounters {
    pub(crate) fn record<T>(&self, result: &Result<T, TrafficRejection>) {
        let counter = match result {
            Ok(_) => &self.admitted,
            Err(TrafficRejection::Forbidden(_)) => &self.forbidden,
            Err(TrafficRejection::Throttled { .. }) => &self.throttled,
            Err(TrafficRejection::QuotaExceeded { .. }) => &self.quota_exceeded,
            Err(TrafficRejection::StoreFailed(_) | TrafficRejection::StoreUnavailable(_)) => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> KeySnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        KeySnapshot {
            admitted: get(&self.admitted),
            forbidden: get(&self.forbidden),
            throttled: get(&self.throttled),
            quota_exceeded: get(&self.quota_exceeded),
        }
    }
}
