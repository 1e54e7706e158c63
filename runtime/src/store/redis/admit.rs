//! [`Store::admit`](crate::store::Store::admit) on Redis: every step of one admission in a
//! single EVALSHA of the `ADMIT` script, so a keyed request costs one round trip.
//!
//! A script's keys must share a hash slot on a Redis Cluster, so there the steps run as one
//! script per run of consecutive same-slot steps, in order, stopping at a refusal; the
//! traffic layer's hash tags make that two: the account/stage group, then the per-key group.

use std::time::{Duration, SystemTime};

use super::codec::{expiry_ms, unavailable};
use super::conn::slot;
use super::{Failure, RedisStore};
use crate::config::OnUnavailable;
use crate::store::{epoch_micros, AdmitOutcome, AdmitRefusal, AdmitStep, Store, StoreError};

/// The script's reply: {status, step, value, quota used, usage ok, watched}.
type Reply = (u8, i64, u64, i64, u8, i64);

impl RedisStore {
    /// Runs `steps` as one script (one per hash slot group on a cluster); while Redis is
    /// down, fails closed or runs what is left on the local fallback (fail open), where
    /// nothing is watched.
    pub(super) async fn admit_batched(
        &self,
        steps: &[AdmitStep<'_>],
        now: SystemTime,
    ) -> Result<AdmitOutcome, StoreError> {
        for step in steps {
            if let AdmitStep::Take {
                key,
                rate_per_sec,
                burst,
            } = *step
            {
                if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) || burst == 0 {
                    return Err(StoreError::Backend(format!(
                        "invalid bucket settings for `{key}`"
                    )));
                }
            }
        }
        let full: Vec<String> = steps.iter().map(|step| self.key(step.key())).collect();
        let mut outcome = AdmitOutcome::default();
        let mut start = 0;
        while start < steps.len() {
            let end = match self.cluster {
                false => steps.len(),
                true => {
                    let first = slot(&full[start]);
                    (start + 1..steps.len())
                        .find(|&i| slot(&full[i]) != first)
                        .unwrap_or(steps.len())
                }
            };
            match self
                .run_group(&steps[start..end], &full[start..end], now)
                .await
            {
                Ok(reply) => {
                    merge(&mut outcome, decode(&steps[start..end], start, reply)?);
                    if outcome.refusal.is_some() {
                        return Ok(outcome);
                    }
                }
                Err(Failure::Refused(e)) => {
                    return Err(StoreError::Backend(format!(
                        "Redis refused an admission: {e}"
                    )))
                }
                Err(Failure::Down) => {
                    self.link.health.count_degraded();
                    if self.link.health.mode() == OnUnavailable::FailClosed {
                        return Err(unavailable());
                    }
                    let mut rest = self.fallback.admit(&steps[start..], now).await?;
                    // The local fallback has no key records: its version means nothing.
                    rest.watched = None;
                    shift(&mut rest, start);
                    merge(&mut outcome, rest);
                    return Ok(outcome);
                }
            }
            start = end;
        }
        Ok(outcome)
    }

    async fn run_group(
        &self,
        steps: &[AdmitStep<'_>],
        keys: &[String],
        now: SystemTime,
    ) -> Result<Reply, Failure> {
        let mut invocation = self.scripts.admit.prepare_invoke();
        invocation.arg(epoch_micros(now));
        for (step, key) in steps.iter().zip(keys) {
            invocation.key(key);
            match *step {
                AdmitStep::Watch { .. } => invocation.arg("w").arg("").arg(""),
                AdmitStep::Take {
                    rate_per_sec,
                    burst,
                    ..
                } => {
                    let interval = 1_000_000.0 / rate_per_sec;
                    let tolerance = interval * burst as f64;
                    invocation
                        .arg("t")
                        .arg(interval.to_string())
                        .arg(tolerance.to_string())
                }
                AdmitStep::Quota {
                    limit, expires_at, ..
                } => invocation.arg("q").arg(limit).arg(expiry_ms(expires_at)),
                AdmitStep::Usage { expires_at, .. } => {
                    invocation.arg("u").arg(1).arg(expiry_ms(expires_at))
                }
            };
        }
        let invocation = &invocation;
        self.call(|mut conn| async move { invocation.invoke_async::<Reply>(&mut conn).await })
            .await
    }
}

/// Adds a later group's outcome to the outcome so far.
fn merge(outcome: &mut AdmitOutcome, later: AdmitOutcome) {
    outcome.refusal = later.refusal;
    outcome.watched = later.watched.or(outcome.watched);
    outcome.quota_used = later.quota_used.or(outcome.quota_used);
    if later.usage_error.is_some() {
        outcome.usage_error = later.usage_error;
    }
}

/// Makes a group's step indices count from the first step of the whole admission.
fn shift(outcome: &mut AdmitOutcome, by: usize) {
    outcome.refusal = outcome.refusal.map(|refusal| match refusal {
        AdmitRefusal::Throttled { step, retry_after } => AdmitRefusal::Throttled {
            step: step + by,
            retry_after,
        },
        AdmitRefusal::QuotaExceeded { step, used } => AdmitRefusal::QuotaExceeded {
            step: step + by,
            used,
        },
    });
}

/// A group's reply as an outcome, with step indices counted from `offset`.
fn decode(
    steps: &[AdmitStep<'_>],
    offset: usize,
    (status, step, value, quota_used, usage_ok, watched): Reply,
) -> Result<AdmitOutcome, StoreError> {
    let index = usize::try_from(step).ok().filter(|i| *i < steps.len());
    let refusal = match (status, index) {
        (0, _) => None,
        (1, Some(step)) => Some(AdmitRefusal::Throttled {
            step,
            retry_after: Duration::from_micros(value),
        }),
        (2, Some(step)) => Some(AdmitRefusal::QuotaExceeded { step, used: value }),
        (3, Some(step)) => {
            let expected = match steps[step] {
                AdmitStep::Take { .. } => "token bucket",
                _ => "counter",
            };
            return Err(StoreError::WrongType {
                key: steps[step].key().to_owned(),
                expected,
                found: "record",
            });
        }
        _ => {
            return Err(StoreError::Backend(format!(
                "unexpected admission reply status {status} at step {step}"
            )))
        }
    };
    let usage_key = steps.iter().find_map(|s| match s {
        AdmitStep::Usage { key, .. } => Some(*key),
        _ => None,
    });
    let usage_error = match (usage_ok, usage_key) {
        (0, Some(key)) => Some(StoreError::WrongType {
            key: key.to_owned(),
            expected: "counter",
            found: "record",
        }),
        _ => None,
    };
    let mut outcome = AdmitOutcome {
        refusal,
        watched: u64::try_from(watched).ok(),
        quota_used: u64::try_from(quota_used).ok(),
        usage_error,
    };
    shift(&mut outcome, offset);
    Ok(outcome)
}
