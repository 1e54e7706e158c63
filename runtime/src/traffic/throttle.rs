//! [`Throttles`]: the token buckets checked for every request, in API Gateway's order.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::config::{ThrottleSettings, TrafficConfig, DEFAULT_ACCOUNT_BURST, DEFAULT_ACCOUNT_RATE};
use super::error::{ThrottleLevel, TrafficRejection};
use super::limiter::{Bucket, KeyedBucket};
use super::plan::{StageMap, UsagePlan};
use super::shared_throttle;
use crate::store::Store;
use crate::Clock;

/// Account, stage, route and usage-plan buckets.
///
/// Stage throttling is API Gateway's "default method throttling": every route of the stage
/// gets its own bucket of that size, unless the route has an override of its own.
///
/// Buckets live in process memory (governor), or — when the store is shared by several
/// replicas — in the store, so the limits hold in aggregate.
pub struct Throttles {
    pub(super) clock: Clock,
    pub(super) account: Option<Bucket>,
    pub(super) stages: StageMap<StageBuckets>,
    pub(super) plans: HashMap<Arc<str>, PlanBuckets>,
    pub(super) shared: Option<Arc<dyn Store>>,
}

pub(super) struct StageBuckets {
    pub(super) default: Option<ThrottleSettings>,
    // Created on a route's first request; keyed by matched route keys, so bounded.
    per_route: RwLock<HashMap<Box<str>, Arc<Bucket>>>,
    pub(super) overrides: HashMap<String, Bucket>,
}

pub(super) struct PlanBuckets {
    pub(super) per_key: Option<KeyedBucket<Arc<str>>>,
    pub(super) routes: StageMap<HashMap<String, KeyedBucket<Arc<str>>>>,
}

impl Throttles {
    /// Buckets for a validated config and its plans, kept in `store` when it is shared.
    pub fn new(
        config: &TrafficConfig,
        plans: &[Arc<UsagePlan>],
        store: &Arc<dyn Store>,
        clock: Clock,
    ) -> Self {
        let account_settings = config.account_throttle.unwrap_or(ThrottleSettings {
            rate_limit: DEFAULT_ACCOUNT_RATE,
            burst_limit: DEFAULT_ACCOUNT_BURST,
        });
        let mut stages = StageMap::default();
        for s in &config.stages {
            let overrides = s
                .routes
                .iter()
                .filter_map(|(route, t)| Some((route.clone(), Bucket::new(t, &clock)?)))
                .collect();
            let buckets = StageBuckets {
                default: s.throttle,
                per_route: RwLock::default(),
                overrides,
            };
            stages.insert(&s.api, &s.stage, buckets);
        }
        let plans = plans
            .iter()
            .map(|plan| {
                let mut routes = StageMap::default();
                for s in &plan.stages {
                    let buckets = s
                        .route_throttles
                        .iter()
                        .filter_map(|(r, t)| Some((r.clone(), KeyedBucket::new(t, &clock)?)))
                        .collect();
                    routes.insert(&s.api, &s.stage, buckets);
                }
                let per_key = plan.throttle.and_then(|t| KeyedBucket::new(&t, &clock));
                (plan.id.clone(), PlanBuckets { per_key, routes })
            })
            .collect();
        Throttles {
            account: Bucket::new(&account_settings, &clock),
            clock,
            stages,
            plans,
            shared: store.is_shared().then(|| store.clone()),
        }
    }

    /// Takes a token at every level that applies, in order: account, stage or route, then
    /// the key's usage plan (its route override or the plan-wide bucket).
    pub async fn check(
        &self,
        api: &str,
        stage: &str,
        route_key: &str,
        plan_key: Option<(&UsagePlan, &Arc<str>)>,
    ) -> Result<(), TrafficRejection> {
        if let Some(store) = &self.shared {
            return shared_throttle::check(self, &**store, api, stage, route_key, plan_key).await;
        }
        if let Some(account) = &self.account {
            account.check().map_err(throttled(ThrottleLevel::Account))?;
        }
        if let Some(buckets) = self.stages.get(api, stage) {
            buckets.check(route_key, &self.clock)?;
        }
        if let Some((plan, key_id)) = plan_key {
            if let Some(buckets) = self.plans.get(&plan.id) {
                let route = buckets
                    .routes
                    .get(api, stage)
                    .and_then(|routes| routes.get(route_key));
                match (route, &buckets.per_key) {
                    (Some(route), _) => route
                        .check(key_id)
                        .map_err(throttled(ThrottleLevel::UsagePlanRoute))?,
                    (None, Some(per_key)) => per_key
                        .check(key_id)
                        .map_err(throttled(ThrottleLevel::UsagePlan))?,
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }

    /// Forgets per-key buckets that have refilled; call now and then to bound memory.
    pub fn shrink(&self) {
        for plan in self.plans.values() {
            if let Some(per_key) = &plan.per_key {
                per_key.shrink();
            }
        }
    }
}

impl StageBuckets {
    fn check(&self, route_key: &str, clock: &Clock) -> Result<(), TrafficRejection> {
        if let Some(bucket) = self.overrides.get(route_key) {
            return bucket.check().map_err(throttled(ThrottleLevel::Route));
        }
        let Some(default) = &self.default else {
            return Ok(());
        };
        let existing = read(&self.per_route).get(route_key).cloned();
        let bucket = match existing {
            Some(bucket) => bucket,
            None => {
                let mut map = self.per_route.write().unwrap_or_else(|p| p.into_inner());
                match map.get(route_key) {
                    Some(bucket) => bucket.clone(),
                    None => {
                        let Some(bucket) = Bucket::new(default, clock) else {
                            return Ok(());
                        };
                        let bucket = Arc::new(bucket);
                        map.insert(Box::from(route_key), bucket.clone());
                        bucket
                    }
                }
            }
        };
        bucket.check().map_err(throttled(ThrottleLevel::Stage))
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // Inserts are single statements, so a poisoned map is still consistent.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn throttled(level: ThrottleLevel) -> impl Fn(Duration) -> TrafficRejection {
    move |retry_after| TrafficRejection::Throttled { level, retry_after }
}
