//! Admission on a shared store: the key-records version, every shared bucket, the quota and
//! usage metering as one [`Store::admit`](crate::store::Store::admit) — one Redis round trip
//! per request instead of one per step.

use std::sync::Arc;
use std::time::Duration;

use super::control::{Admission, TrafficControl};
use super::error::TrafficRejection;
use super::keys::ApiKey;
use super::persist::KEYS_VERSION;
use super::plan::UsagePlan;
use super::shared_throttle::{self, SharedBucket};
use super::throttle::throttled;
use crate::store::{AdmitRefusal, AdmitStep};

impl TrafficControl {
    /// Throttles, then the quota, then usage for a request to `route_key`, counted in the
    /// shared store in the same order and with the same answers as the in-process path.
    pub(super) async fn admit_shared(
        &self,
        api: &str,
        stage: &str,
        route_key: &str,
        keyed: Option<(Arc<ApiKey>, Arc<UsagePlan>)>,
    ) -> Result<Admission, TrafficRejection> {
        let plan_key = keyed.as_ref().map(|(key, plan)| (&**plan, &key.id));
        let buckets = shared_throttle::buckets(&self.throttles, api, stage, route_key, plan_key);
        let now = self.clock.now();
        let quota = keyed
            .as_ref()
            .and_then(|(key, plan)| self.quotas.counter(plan, &key.id, now));
        let usage = keyed
            .as_ref()
            .map(|(key, plan)| self.usage.counter(&plan.id, &key.id, now));
        let mut steps = Vec::with_capacity(buckets.len() + 3);
        if keyed.is_some() {
            // Piggy-backed so a steady stream of keyed requests needs no separate key check.
            steps.push(AdmitStep::Watch { key: KEYS_VERSION });
        }
        let first_bucket = steps.len();
        steps.extend(buckets.iter().map(SharedBucket::step));
        if let Some((key, limit, end)) = &quota {
            steps.push(AdmitStep::Quota {
                key,
                limit: *limit,
                expires_at: Some(*end),
            });
        }
        if let Some((key, expires)) = &usage {
            steps.push(AdmitStep::Usage {
                key,
                expires_at: Some(*expires),
            });
        }
        if steps.is_empty() {
            return Ok(Admission::default());
        }
        let outcome = self.store.admit(&steps, now).await?;
        if let Some(version) = outcome.watched {
            self.keys_version_seen(version).await;
        }
        match outcome.refusal {
            Some(AdmitRefusal::Throttled { step, retry_after }) => {
                let level = buckets[step - first_bucket].level;
                return Err(throttled(level)(retry_after));
            }
            Some(AdmitRefusal::QuotaExceeded { .. }) => {
                let end = quota.as_ref().map_or(now, |(_, _, end)| *end);
                return Err(TrafficRejection::QuotaExceeded {
                    retry_after: end.duration_since(now).unwrap_or(Duration::ZERO),
                });
            }
            None => {}
        }
        let Some((key, plan)) = keyed else {
            return Ok(Admission::default());
        };
        if let Some(e) = outcome.usage_error {
            // Metering is best effort: a failed usage write must not fail the request.
            tracing::warn!(error = %e, key_id = %key.id, "usage metering failed");
        }
        let quota_remaining =
            quota.map(|(_, limit, _)| limit.saturating_sub(outcome.quota_used.unwrap_or(limit)));
        Ok(Admission {
            key: Some(key),
            plan: Some(plan),
            quota_remaining,
        })
    }
}
