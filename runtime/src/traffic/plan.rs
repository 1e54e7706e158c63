//! Usage plans as checked at runtime, built once from validated config and shared by `Arc`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::config::{ThrottleSettings, UsagePlanConfig};
use super::period::QuotaPeriod;

/// A usage plan: which API stages it covers, and the throttle and quota per key.
#[derive(Debug, Clone)]
pub struct UsagePlan {
    /// Identifier.
    pub id: Arc<str>,
    /// Display name.
    pub name: String,
    /// Free-form description.
    pub description: Option<String>,
    /// Covered API stages.
    pub stages: Vec<PlanStage>,
    /// Per-key throttle across the plan.
    pub throttle: Option<ThrottleSettings>,
    /// Per-key quota.
    pub quota: Option<PlanQuota>,
}

/// One API stage of a plan.
#[derive(Debug, Clone)]
pub struct PlanStage {
    /// API name or id.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Per-key throttles for single routes (`"GET /pets"`), replacing the plan's throttle.
    pub route_throttles: BTreeMap<String, ThrottleSettings>,
}

/// A checked quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanQuota {
    /// Requests per period.
    pub limit: u64,
    /// Period length.
    pub period: QuotaPeriod,
    /// Start-day offset within the period.
    pub offset: u32,
}

impl UsagePlan {
    /// Builds a plan from config that [`super::TrafficConfig::validate`] accepted.
    pub(crate) fn from_config(config: &UsagePlanConfig) -> Self {
        let quota = config.quota.as_ref().and_then(|q| {
            Some(PlanQuota {
                limit: u64::try_from(q.limit).ok()?,
                period: QuotaPeriod::parse(&q.period)?,
                offset: u32::try_from(q.offset).ok()?,
            })
        });
        UsagePlan {
            id: Arc::from(config.id.as_str()),
            name: config.name.clone().unwrap_or_else(|| config.id.clone()),
            description: config.description.clone(),
            stages: config
                .stages
                .iter()
                .map(|s| PlanStage {
                    api: s.api.clone(),
                    stage: s.stage.clone(),
                    route_throttles: s.throttle.clone(),
                })
                .collect(),
            throttle: config.throttle,
            quota,
        }
    }

    /// Whether the plan covers this API stage.
    pub fn covers(&self, api: &str, stage: &str) -> bool {
        self.stages.iter().any(|s| s.api == api && s.stage == stage)
    }
}

/// Two-level map `api → stage → T`, looked up by `&str` without allocating.
#[derive(Debug)]
pub(crate) struct StageMap<T>(HashMap<String, HashMap<String, T>>);

impl<T> Default for StageMap<T> {
    fn default() -> Self {
        StageMap(HashMap::new())
    }
}

impl<T> StageMap<T> {
    pub(crate) fn get(&self, api: &str, stage: &str) -> Option<&T> {
        self.0.get(api)?.get(stage)
    }

    pub(crate) fn insert(&mut self, api: &str, stage: &str, value: T) {
        self.0
            .entry(api.to_owned())
            .or_default()
            .insert(stage.to_owned(), value);
    }
}
