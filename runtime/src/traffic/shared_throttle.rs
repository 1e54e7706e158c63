//! Throttles whose buckets live in a shared [`Store`], so several replicas enforce one
//! limit in aggregate: the same levels and order as the in-process buckets, each bucket a
//! store key named after what it limits.

use std::sync::Arc;

use super::config::ThrottleSettings;
use super::error::{ThrottleLevel, TrafficRejection};
use super::plan::UsagePlan;
use super::throttle::{throttled, Throttles};
use crate::store::{Store, TokenDecision};

/// [`Throttles::check`] against buckets in `store`.
pub(super) async fn check(
    throttles: &Throttles,
    store: &dyn Store,
    api: &str,
    stage: &str,
    route_key: &str,
    plan_key: Option<(&UsagePlan, &Arc<str>)>,
) -> Result<(), TrafficRejection> {
    let now = throttles.clock.now();
    let take = |key: String, settings: ThrottleSettings, level: ThrottleLevel| async move {
        let burst = u64::try_from(settings.burst_limit).unwrap_or(1).max(1);
        match store
            .take_token(&key, settings.rate_limit, burst, now)
            .await?
        {
            TokenDecision::Taken => Ok(()),
            TokenDecision::Empty { retry_after } => Err(throttled(level)(retry_after)),
        }
    };
    if let Some(account) = &throttles.account {
        take(
            "throttle/account".to_owned(),
            *account.settings(),
            ThrottleLevel::Account,
        )
        .await?;
    }
    if let Some(buckets) = throttles.stages.get(api, stage) {
        let target = format!("{api}/{stage}/{route_key}");
        if let Some(route) = buckets.overrides.get(route_key) {
            take(
                format!("throttle/route/{target}"),
                *route.settings(),
                ThrottleLevel::Route,
            )
            .await?;
        } else if let Some(default) = buckets.default {
            take(
                format!("throttle/stage/{target}"),
                default,
                ThrottleLevel::Stage,
            )
            .await?;
        }
    }
    let Some((plan, key_id)) = plan_key else {
        return Ok(());
    };
    let Some(buckets) = throttles.plans.get(&plan.id) else {
        return Ok(());
    };
    let route = buckets
        .routes
        .get(api, stage)
        .and_then(|routes| routes.get(route_key));
    match (route, &buckets.per_key) {
        (Some(route), _) => {
            let key = format!(
                "throttle/plan-route/{}/{api}/{stage}/{route_key}/{key_id}",
                plan.id
            );
            take(key, *route.settings(), ThrottleLevel::UsagePlanRoute).await
        }
        (None, Some(per_key)) => {
            let key = format!("throttle/plan/{}/{key_id}", plan.id);
            take(key, *per_key.settings(), ThrottleLevel::UsagePlan).await
        }
        (None, None) => Ok(()),
    }
}
