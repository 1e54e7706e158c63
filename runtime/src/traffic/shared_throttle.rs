//! Throttles whose buckets live in a shared [`Store`], so several replicas enforce one
//! limit in aggregate: the same levels and order as the in-process buckets, each bucket a
//! store key named after what it limits.

use std::borrow::Cow;
use std::sync::Arc;

use super::config::ThrottleSettings;
use super::error::{ThrottleLevel, TrafficRejection};
use super::plan::UsagePlan;
use super::throttle::{throttled, Throttles};
use crate::store::{AdmitRefusal, AdmitStep, Store};

/// Appends `<plan>/<key>`, as the hash tag `{<plan>/<key>}` when `tagged`.
///
/// Shared bucket names carry hash tags on every store: a Redis Cluster keeps a request's
/// account and stage buckets (tag `{traffic}`, first in the name, before any route text
/// that may hold braces) in one slot and its per-key bucket, quota and usage counters
/// (tag `{<plan>/<key>}`) in another, so an admission is at most two scripts there.
pub(super) fn push_plan_key(out: &mut String, plan_id: &str, key_id: &str, tagged: bool) {
    if tagged {
        out.push('{');
    }
    out.push_str(plan_id);
    out.push('/');
    out.push_str(key_id);
    if tagged {
        out.push('}');
    }
}

/// One shared bucket a request takes a token from.
pub(super) struct SharedBucket {
    /// Its store key (the account bucket's is a constant: no allocation per request).
    pub(super) key: Cow<'static, str>,
    /// Refill rate in tokens per second.
    pub(super) rate_per_sec: f64,
    /// Bucket size (at least 1).
    pub(super) burst: u64,
    /// The level a refusal names.
    pub(super) level: ThrottleLevel,
}

impl SharedBucket {
    fn new(
        key: impl Into<Cow<'static, str>>,
        settings: ThrottleSettings,
        level: ThrottleLevel,
    ) -> Self {
        SharedBucket {
            key: key.into(),
            rate_per_sec: settings.rate_limit,
            burst: u64::try_from(settings.burst_limit).unwrap_or(1).max(1),
            level,
        }
    }

    /// The admission step taking a token from this bucket.
    pub(super) fn step(&self) -> AdmitStep<'_> {
        AdmitStep::Take {
            key: &self.key,
            rate_per_sec: self.rate_per_sec,
            burst: self.burst,
        }
    }
}

/// The buckets that apply, in order: account, stage or route, then the key's usage plan.
pub(super) fn buckets(
    throttles: &Throttles,
    api: &str,
    stage: &str,
    route_key: &str,
    plan_key: Option<(&UsagePlan, &Arc<str>)>,
) -> Vec<SharedBucket> {
    let mut found = Vec::with_capacity(3);
    if let Some(account) = &throttles.account {
        found.push(SharedBucket::new(
            "{traffic}/throttle/account",
            *account.settings(),
            ThrottleLevel::Account,
        ));
    }
    if let Some(buckets) = throttles.stages.get(api, stage) {
        if let Some(route) = buckets.overrides.get(route_key) {
            found.push(SharedBucket::new(
                format!("{{traffic}}/throttle/route/{api}/{stage}/{route_key}"),
                *route.settings(),
                ThrottleLevel::Route,
            ));
        } else if let Some(default) = buckets.default {
            found.push(SharedBucket::new(
                format!("{{traffic}}/throttle/stage/{api}/{stage}/{route_key}"),
                default,
                ThrottleLevel::Stage,
            ));
        }
    }
    let Some((plan, key_id)) = plan_key else {
        return found;
    };
    let Some(buckets) = throttles.plans.get(&plan.id) else {
        return found;
    };
    let route = buckets
        .routes
        .get(api, stage)
        .and_then(|routes| routes.get(route_key));
    match (route, &buckets.per_key) {
        (Some(route), _) => found.push(SharedBucket::new(
            {
                let mut key = plan_key_buffer(
                    "throttle/plan-route/",
                    plan,
                    key_id,
                    api.len() + stage.len() + route_key.len() + 3,
                );
                push_plan_key(&mut key, &plan.id, key_id, true);
                for part in [api, stage, route_key] {
                    key.push('/');
                    key.push_str(part);
                }
                key
            },
            *route.settings(),
            ThrottleLevel::UsagePlanRoute,
        )),
        (None, Some(per_key)) => found.push(SharedBucket::new(
            {
                let mut key = plan_key_buffer("throttle/plan/", plan, key_id, 0);
                push_plan_key(&mut key, &plan.id, key_id, true);
                key
            },
            *per_key.settings(),
            ThrottleLevel::UsagePlan,
        )),
        (None, None) => {}
    }
    found
}

/// `head` in a string sized for the `{<plan>/<key>}` tag and `more` bytes after it, so the
/// name is built without growing.
fn plan_key_buffer(head: &str, plan: &UsagePlan, key_id: &str, more: usize) -> String {
    let mut key = String::with_capacity(head.len() + plan.id.len() + key_id.len() + 3 + more);
    key.push_str(head);
    key
}

/// [`Throttles::check`] against buckets in `store`, as one admission.
pub(super) async fn check(
    throttles: &Throttles,
    store: &dyn Store,
    api: &str,
    stage: &str,
    route_key: &str,
    plan_key: Option<(&UsagePlan, &Arc<str>)>,
) -> Result<(), TrafficRejection> {
    let found = buckets(throttles, api, stage, route_key, plan_key);
    if found.is_empty() {
        return Ok(());
    }
    let steps: Vec<AdmitStep<'_>> = found.iter().map(SharedBucket::step).collect();
    let outcome = store.admit(&steps, throttles.clock.now()).await?;
    match outcome.refusal {
        Some(AdmitRefusal::Throttled { step, retry_after }) => {
            Err(throttled(found[step].level)(retry_after))
        }
        _ => Ok(()),
    }
}
