//! Batched admission: every store step one request needs (version read, token buckets, the
//! quota check-and-increment, usage metering) as one [`super::Store::admit`] call, so a
//! networked store answers it in one round trip.
//!
//! [`admit_in_order`] is the one definition of the semantics; the Redis Lua script in
//! `redis/scripts.rs` mirrors it.

use std::time::{Duration, SystemTime};

use super::bucket::TokenDecision;
use super::{CounterDecision, Store, StoreError};

/// One store operation of an admission, run in the order given.
#[derive(Debug, Clone, Copy)]
pub enum AdmitStep<'a> {
    /// Reads a counter (0 when absent) and never refuses: e.g. the API-key records version.
    /// A failed read is reported as no value, never as a refusal.
    Watch {
        /// The counter's key.
        key: &'a str,
    },
    /// [`Store::take_token`]: an empty bucket refuses the request and stops the admission.
    Take {
        /// The bucket's key.
        key: &'a str,
        /// Refill rate in tokens per second.
        rate_per_sec: f64,
        /// Bucket size.
        burst: u64,
    },
    /// [`Store::incr_if_below`]: a counter at its limit refuses the request and stops.
    Quota {
        /// The counter's key.
        key: &'a str,
        /// The most the counter may reach.
        limit: u64,
        /// Expiry given to the counter when this step creates it.
        expires_at: Option<SystemTime>,
    },
    /// [`Store::add_counter`] of one; best effort: a failure is reported, never a refusal.
    Usage {
        /// The counter's key.
        key: &'a str,
        /// Expiry given to the counter when this step creates it.
        expires_at: Option<SystemTime>,
    },
}

impl AdmitStep<'_> {
    /// The store key the step addresses.
    pub fn key(&self) -> &str {
        match self {
            AdmitStep::Watch { key }
            | AdmitStep::Take { key, .. }
            | AdmitStep::Quota { key, .. }
            | AdmitStep::Usage { key, .. } => key,
        }
    }
}

/// Which step refused an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitRefusal {
    /// The bucket of step `step` (index into the steps) was empty.
    Throttled {
        /// Index of the refusing step.
        step: usize,
        /// Time until the bucket has a token.
        retry_after: Duration,
    },
    /// The quota counter of step `step` holds `used`, at or above its limit.
    QuotaExceeded {
        /// Index of the refusing step.
        step: usize,
        /// The counter's value; nothing was added.
        used: u64,
    },
}

/// What [`Store::admit`] did.
#[derive(Debug, Default)]
pub struct AdmitOutcome {
    /// The refusing step, if any; the steps after it did not run.
    pub refusal: Option<AdmitRefusal>,
    /// The value of the last [`AdmitStep::Watch`] counter, when it was read.
    pub watched: Option<u64>,
    /// The quota counter after the increment, when a quota step ran and admitted.
    pub quota_used: Option<u64>,
    /// Why the usage step failed, when it did (the request is still admitted).
    pub usage_error: Option<StoreError>,
}

/// The steps run one store call at a time, in order: the default of [`Store::admit`] and the
/// reference the batched implementations mirror.
pub async fn admit_in_order<S: Store + ?Sized>(
    store: &S,
    steps: &[AdmitStep<'_>],
    now: SystemTime,
) -> Result<AdmitOutcome, StoreError> {
    let mut outcome = AdmitOutcome::default();
    for (index, step) in steps.iter().enumerate() {
        match *step {
            AdmitStep::Watch { key } => outcome.watched = store.get_counter(key).await.ok(),
            AdmitStep::Take {
                key,
                rate_per_sec,
                burst,
            } => {
                let decision = store.take_token(key, rate_per_sec, burst, now).await?;
                if let TokenDecision::Empty { retry_after } = decision {
                    outcome.refusal = Some(AdmitRefusal::Throttled {
                        step: index,
                        retry_after,
                    });
                    return Ok(outcome);
                }
            }
            AdmitStep::Quota {
                key,
                limit,
                expires_at,
            } => match store.incr_if_below(key, limit, expires_at).await? {
                CounterDecision::Incremented(used) => outcome.quota_used = Some(used),
                CounterDecision::AtLimit(used) => {
                    outcome.refusal = Some(AdmitRefusal::QuotaExceeded { step: index, used });
                    return Ok(outcome);
                }
            },
            AdmitStep::Usage { key, expires_at } => {
                if let Err(e) = store.add_counter(key, 1, expires_at).await {
                    outcome.usage_error = Some(e);
                }
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests;
