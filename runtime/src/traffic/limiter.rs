//! Token buckets over `governor`, driven by our [`Clock`] so tests fast-forward them.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};

use super::config::ThrottleSettings;
use crate::Clock;

/// Adapts [`Clock`] to governor's clock trait.
#[derive(Clone, Debug)]
pub(crate) struct LimiterClock(pub(crate) Clock);

impl GovernorClock for LimiterClock {
    type Instant = SystemTime;

    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

type Direct = RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<SystemTime>>;
type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, LimiterClock, NoOpMiddleware<SystemTime>>;

/// Converts validated settings to a governor quota; `None` when they are out of range.
fn quota(settings: &ThrottleSettings) -> Option<Quota> {
    if !(settings.rate_limit.is_finite() && settings.rate_limit > 0.0) {
        return None;
    }
    let burst = NonZeroU32::new(u32::try_from(settings.burst_limit).ok()?)?;
    let per_token = Duration::try_from_secs_f64(1.0 / settings.rate_limit).ok()?;
    Some(Quota::with_period(per_token)?.allow_burst(burst))
}

fn wait(not_until: NotUntil<SystemTime>, clock: &Clock) -> Duration {
    not_until.wait_time_from(clock.now())
}

/// One token bucket.
pub(crate) struct Bucket {
    limiter: Direct,
    clock: Clock,
    settings: ThrottleSettings,
}

impl Bucket {
    /// A full bucket; `None` when the settings are out of range.
    pub(crate) fn new(settings: &ThrottleSettings, clock: &Clock) -> Option<Self> {
        Some(Bucket {
            limiter: RateLimiter::direct_with_clock(quota(settings)?, LimiterClock(clock.clone())),
            clock: clock.clone(),
            settings: *settings,
        })
    }

    /// The rate and burst this bucket was built with (for buckets kept in a shared store).
    pub(crate) fn settings(&self) -> &ThrottleSettings {
        &self.settings
    }

    /// Takes a token, or says how long until one is available.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        self.limiter.check().map_err(|e| wait(e, &self.clock))
    }
}

/// One token bucket per key, all of the same size.
pub(crate) struct KeyedBucket<K: Hash + Eq + Clone> {
    limiter: Keyed<K>,
    clock: Clock,
    settings: ThrottleSettings,
}

impl<K: Hash + Eq + Clone> KeyedBucket<K> {
    /// Buckets created full on first use; `None` when the settings are out of range.
    pub(crate) fn new(settings: &ThrottleSettings, clock: &Clock) -> Option<Self> {
        Some(KeyedBucket {
            limiter: RateLimiter::hashmap_with_clock(quota(settings)?, LimiterClock(clock.clone())),
            clock: clock.clone(),
            settings: *settings,
        })
    }

    /// The rate and burst of every bucket (for buckets kept in a shared store).
    pub(crate) fn settings(&self) -> &ThrottleSettings {
        &self.settings
    }

    /// Takes a token from `key`'s bucket, or says how long until one is available.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|e| wait(e, &self.clock))
    }

    /// Forgets buckets that have refilled completely (they equal fresh ones).
    pub(crate) fn shrink(&self) {
        self.limiter.retain_recent();
    }
}
