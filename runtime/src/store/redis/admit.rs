//! [`Store::admit`](crate::store::Store::admit) on Redis: every step of one admission in a
//! single EVALSHA of the `ADMIT` script, so a keyed request costs one round trip.

use std::time::{Duration, SystemTime};

use super::codec::{expiry_ms, unavailable};
use super::{Failure, RedisStore};
use crate::config::OnUnavailable;
use crate::store::{epoch_micros, AdmitOutcome, AdmitRefusal, AdmitStep, Store, StoreError};

/// The script's reply: {status, step, value, quota used, usage ok, watched}.
type Reply = (u8, i64, u64, i64, u8, i64);

impl RedisStore {
    /// Runs `steps` as one script; while Redis is down, fails closed or runs them on the
    /// local fallback (fail open), where nothing is watched.
    pub(super) async fn admit_batched(
        &self,
        steps: &[AdmitStep<'_>],
        now: SystemTime,
    ) -> Result<AdmitOutcome, StoreError> {
        let script = &self.scripts.admit;
        let mut invocation = script.prepare_invoke();
        invocation.arg(epoch_micros(now));
        for step in steps {
            invocation.key(self.key(step.key()));
            match *step {
                AdmitStep::Watch { .. } => invocation.arg("w").arg("").arg(""),
                AdmitStep::Take {
                    key,
                    rate_per_sec,
                    burst,
                } => {
                    if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) || burst == 0 {
                        return Err(StoreError::Backend(format!(
                            "invalid bucket settings for `{key}`"
                        )));
                    }
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
        let result = self
            .call(|mut conn| async move { invocation.invoke_async::<Reply>(&mut conn).await })
            .await;
        match result {
            Ok(reply) => decode(steps, reply),
            Err(Failure::Refused(e)) => Err(StoreError::Backend(format!(
                "Redis refused an admission: {e}"
            ))),
            Err(Failure::Down) => {
                self.link.health.count_degraded();
                match self.link.health.mode() {
                    OnUnavailable::FailClosed => Err(unavailable()),
                    OnUnavailable::FailOpen => {
                        let mut outcome = self.fallback.admit(steps, now).await?;
                        // The local fallback has no key records: its version means nothing.
                        outcome.watched = None;
                        Ok(outcome)
                    }
                }
            }
        }
    }
}

fn decode(
    steps: &[AdmitStep<'_>],
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
            let (expected, found) = match steps[step] {
                AdmitStep::Take { .. } => ("token bucket", "record"),
                _ => ("counter", "record"),
            };
            return Err(StoreError::WrongType {
                key: steps[step].key().to_owned(),
                expected,
                found,
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
    Ok(AdmitOutcome {
        refusal,
        watched: u64::try_from(watched).ok(),
        quota_used: u64::try_from(quota_used).ok(),
        usage_error,
    })
}
