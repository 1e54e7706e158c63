//! [`Usage`]: requests per key per UTC day, and API Gateway's `GetUsage` report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{NaiveDate, TimeDelta};
use serde::Serialize;

use super::error::TrafficError;
use super::period::{day_start, utc_day};
use super::plan::UsagePlan;
use crate::store::{Store, StoreError};

/// How long daily usage counters are kept after their day ends.
pub const USAGE_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// The longest range one usage query may span, in days.
pub const MAX_USAGE_DAYS: i64 = 90;

/// Daily usage counters in the [`Store`].
pub struct Usage {
    store: Arc<dyn Store>,
}

/// API Gateway's `Usage` response: `values` maps a key id to one `[used, remaining]` pair per
/// day from `startDate` to `endDate` inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// The plan asked about.
    pub usage_plan_id: String,
    /// First day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last day, `YYYY-MM-DD`.
    pub end_date: String,
    /// Per key id, one `[used, remaining]` per day; remaining is the quota left at the end
    /// of that day (0 when the plan has no quota).
    pub values: BTreeMap<String, Vec<[u64; 2]>>,
    /// Pagination token; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

impl Usage {
    /// Usage counted in `store`; callers pass the time of each request.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Usage { store }
    }

    /// Counts one request admitted at `now` for the key in the plan, on that UTC date.
    pub async fn record(
        &self,
        plan_id: &str,
        key_id: &str,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let (key, expires) = self.counter(plan_id, key_id, now);
        self.store
            .add_counter(&key, 1, Some(expires))
            .await
            .map(drop)
    }

    /// The day counter a request admitted at `now` adds to, and its expiry.
    pub(super) fn counter(
        &self,
        plan_id: &str,
        key_id: &str,
        now: SystemTime,
    ) -> (String, SystemTime) {
        let today = utc_day(now);
        let expires = day_start(today + TimeDelta::days(1)) + USAGE_RETENTION;
        let key = day_key(plan_id, key_id, today, self.store.hash_tags());
        (key, expires)
    }

    /// Requests counted for the key in the plan on `day`.
    pub async fn used_on(
        &self,
        plan_id: &str,
        key_id: &str,
        day: NaiveDate,
    ) -> Result<u64, StoreError> {
        let key = day_key(plan_id, key_id, day, self.store.hash_tags());
        self.store.get_counter(&key).await
    }

    /// The `GetUsage` report for `keys` of `plan` between two dates (inclusive).
    pub async fn report(
        &self,
        plan: &UsagePlan,
        keys: &[Arc<str>],
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<UsageReport, TrafficError> {
        if end < start {
            return Err(TrafficError::BadRequest(
                "The end date must not be before the start date".into(),
            ));
        }
        if (end - start).num_days() >= MAX_USAGE_DAYS {
            return Err(TrafficError::BadRequest(format!(
                "The date range may span at most {MAX_USAGE_DAYS} days"
            )));
        }
        let mut values = BTreeMap::new();
        for key_id in keys {
            let mut days = Vec::new();
            let mut day = start;
            while day <= end {
                let used = self.used_on(&plan.id, key_id, day).await?;
                let remaining = match &plan.quota {
                    None => 0,
                    Some(quota) => {
                        let mut in_period = 0;
                        let mut d = quota.period.start_of(day, quota.offset);
                        while d <= day {
                            in_period += self.used_on(&plan.id, key_id, d).await?;
                            d += TimeDelta::days(1);
                        }
                        quota.limit.saturating_sub(in_period)
                    }
                };
                days.push([used, remaining]);
                day += TimeDelta::days(1);
            }
            values.insert(key_id.to_string(), days);
        }
        Ok(UsageReport {
            usage_plan_id: plan.id.to_string(),
            start_date: start.format("%Y-%m-%d").to_string(),
            end_date: end.format("%Y-%m-%d").to_string(),
            values,
            position: None,
        })
    }
}

/// `usage/<plan>/<key>/<YYYY-MM-DD>`; with `tagged`, `usage/{<plan>/<key>}/...` (see
/// `quota.rs`).
fn day_key(plan_id: &str, key_id: &str, day: NaiveDate, tagged: bool) -> String {
    use chrono::Datelike;
    use std::fmt::Write;
    // Built by hand: chrono's strftime parsing showed up in the per-request profile.
    let mut key = String::with_capacity(plan_id.len() + key_id.len() + 21);
    key.push_str("usage/");
    super::shared_throttle::push_plan_key(&mut key, plan_id, key_id, tagged);
    let _ = write!(
        key,
        "/{:04}-{:02}-{:02}",
        day.year(),
        day.month(),
        day.day()
    );
    key
}
