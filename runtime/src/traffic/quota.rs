//! [`Quotas`]: requests per key per plan per period, counted atomically in the [`Store`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::TrafficRejection;
use super::plan::{PlanQuota, UsagePlan};
use crate::store::{CounterDecision, Store, StoreError};
use crate::Clock;

/// Quota counters: one store counter per key, plan and period, expiring with the period.
pub struct Quotas {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl Quotas {
    /// Quotas counted in `store`, with periods read from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Quotas { store, clock }
    }

    /// Counts one request made at `now` against the key's quota in `plan`, if it has one.
    ///
    /// Returns the requests left in the period (`None` without a quota), or
    /// [`TrafficRejection::QuotaExceeded`] with the time until the next period.
    pub async fn consume(
        &self,
        plan: &UsagePlan,
        key_id: &str,
        now: SystemTime,
    ) -> Result<Option<u64>, TrafficRejection> {
        let Some(quota) = &plan.quota else {
            return Ok(None);
        };
        let (start, end) = quota.period.bounds(now, quota.offset);
        let key = counter_key(&plan.id, key_id, start, self.store.hash_tags());
        let decision = self
            .store
            .incr_if_below(&key, quota.limit, Some(end))
            .await
            .map_err(TrafficRejection::from)?;
        match decision {
            CounterDecision::Incremented(used) => Ok(Some(quota.limit.saturating_sub(used))),
            CounterDecision::AtLimit(_) => Err(TrafficRejection::QuotaExceeded {
                retry_after: end.duration_since(now).unwrap_or(Duration::ZERO),
            }),
        }
    }

    /// The counter, limit and period end of the key's quota in `plan` at `now`, for a
    /// batched admission; `None` without a quota.
    pub(super) fn counter(
        &self,
        plan: &UsagePlan,
        key_id: &str,
        now: SystemTime,
    ) -> Option<(String, u64, SystemTime)> {
        let quota = plan.quota.as_ref()?;
        let (start, end) = quota.period.bounds(now, quota.offset);
        let key = counter_key(&plan.id, key_id, start, self.store.hash_tags());
        Some((key, quota.limit, end))
    }

    /// Requests left in the current period without counting one (`None` without a quota).
    pub async fn remaining(
        &self,
        plan: &UsagePlan,
        key_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        let Some(PlanQuota {
            limit,
            period,
            offset,
        }) = plan.quota
        else {
            return Ok(None);
        };
        let (start, _) = period.bounds(self.clock.now(), offset);
        let used = self
            .store
            .get_counter(&counter_key(
                &plan.id,
                key_id,
                start,
                self.store.hash_tags(),
            ))
            .await?;
        Ok(Some(limit.saturating_sub(used)))
    }
}

/// `quota/<plan>/<key>/<period start>`; with `tagged`, `quota/{<plan>/<key>}/...` so a Redis
/// Cluster keeps it in one hash slot with the key's usage counter and plan bucket.
fn counter_key(plan_id: &str, key_id: &str, period_start: SystemTime, tagged: bool) -> String {
    let start = period_start
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut key = String::with_capacity(plan_id.len() + key_id.len() + 30);
    key.push_str("quota/");
    super::shared_throttle::push_plan_key(&mut key, plan_id, key_id, tagged);
    key.push('/');
    key.push_str(&start.to_string());
    key
}
