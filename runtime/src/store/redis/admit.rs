//! [`Store::admit`](crate::store::Store::admit) on Redis: every step of one admission in a
//! single EVALSHA of the `ADMIT` script, so a keyed request costs one round trip.
//!
//! A script's keys must share a hash slot on a Redis Cluster, so there the steps run as one
//! script per run of consecutive same-slot steps, in order, stopping at a refusal; the
//! traffic layer's hash tags make that two: the account/stage group, then the per-key group.

use std::time::{Duration, SystemTime};

use redis::cluster_routing::Slot;
use redis::{ErrorKind, Script, ServerErrorKind, Value};

use super::codec::{unavailable, Expiry, FullKey};
use super::conn::{slot, Conn};
use super::{Failure, RedisStore};
use crate::config::OnUnavailable;
use crate::store::{epoch_micros, AdmitOutcome, AdmitRefusal, AdmitStep, Store, StoreError};

/// The script's reply: status, step, value, quota used, usage ok, watched (see `ADMIT`).
struct Reply {
    status: u8,
    step: i64,
    value: u64,
    quota_used: i64,
    usage_ok: u8,
    watched: i64,
}

impl Reply {
    /// Reads the script's `status step value quota_used usage_ok watched` string.
    fn parse(value: &Value) -> Option<Reply> {
        let Value::BulkString(bytes) = value else {
            return None;
        };
        let mut numbers = std::str::from_utf8(bytes).ok()?.split(' ');
        let mut next = || numbers.next()?.parse::<i64>().ok();
        let reply = Reply {
            status: u8::try_from(next()?).ok()?,
            step: next()?,
            value: u64::try_from(next()?).ok()?,
            quota_used: next()?,
            usage_ok: u8::try_from(next()?).ok()?,
            watched: next()?,
        };
        numbers.next().is_none().then_some(reply)
    }
}

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
        let full: Vec<FullKey<'_>> = steps.iter().map(|step| self.full_key(step.key())).collect();
        // Only a cluster groups steps by hash slot, and only it needs the names spelled out.
        let slots: Vec<Slot> = match self.cluster {
            false => Vec::new(),
            true => full.iter().map(|key| slot(&key.to_string())).collect(),
        };
        let mut outcome = AdmitOutcome::default();
        let mut start = 0;
        while start < steps.len() {
            let end = match self.cluster {
                false => steps.len(),
                true => {
                    let first = slots[start];
                    (start + 1..steps.len())
                        .find(|&i| slots[i] != first)
                        .unwrap_or(steps.len())
                }
            };
            match self
                .run_group(&steps[start..end], &full[start..end], now)
                .await
            {
                Ok(value) => {
                    let reply = Reply::parse(&value).ok_or_else(|| {
                        StoreError::Backend(format!("unexpected admission reply {value:?}"))
                    })?;
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
        keys: &[FullKey<'_>],
        now: SystemTime,
    ) -> Result<Value, Failure> {
        let script = &self.scripts.admit;
        // One EVALSHA built straight into the command buffer: no per-argument vectors, no
        // formatted strings; floats go out in ryu's shortest form, integers through itoa.
        let mut cmd = redis::Cmd::with_capacity(4 + 4 * steps.len(), 64 + 64 * steps.len());
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(steps.len());
        for key in keys {
            cmd.arg(*key);
        }
        cmd.arg(epoch_micros(now));
        for step in steps {
            match *step {
                AdmitStep::Watch { .. } => cmd.arg("w").arg("").arg(""),
                AdmitStep::Take {
                    rate_per_sec,
                    burst,
                    ..
                } => {
                    let interval = 1_000_000.0 / rate_per_sec;
                    let tolerance = interval * burst as f64;
                    cmd.arg("t").arg(interval).arg(tolerance)
                }
                AdmitStep::Quota {
                    limit, expires_at, ..
                } => cmd.arg("q").arg(limit).arg(Expiry(expires_at)),
                AdmitStep::Usage { expires_at, .. } => cmd.arg("u").arg(1).arg(Expiry(expires_at)),
            };
        }
        let cmd = &cmd;
        self.call(|mut conn| async move { eval_sha(&mut conn, script, cmd).await })
            .await
    }
}

/// Runs an EVALSHA of `script`, loading the script once when Redis answers NOSCRIPT (after a
/// restart or `SCRIPT FLUSH`), then sending the same command again.
pub(super) async fn eval_sha<T: redis::FromRedisValue>(
    conn: &mut Conn,
    script: &Script,
    cmd: &redis::Cmd,
) -> redis::RedisResult<T> {
    match cmd.query_async(conn).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.load_async(conn).await?;
            cmd.query_async(conn).await
        }
        other => other,
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
    Reply {
        status,
        step,
        value,
        quota_used,
        usage_ok,
        watched,
    }: Reply,
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

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::Reply;

    fn parse(text: &str) -> Option<(u8, i64, u64, i64, u8, i64)> {
        Reply::parse(&Value::BulkString(text.as_bytes().to_vec())).map(|r| {
            (
                r.status,
                r.step,
                r.value,
                r.quota_used,
                r.usage_ok,
                r.watched,
            )
        })
    }

    #[test]
    fn the_admission_reply_is_six_integers_and_nothing_else() {
        assert_eq!(parse("0 -1 0 12 1 7"), Some((0, -1, 0, 12, 1, 7)));
        assert_eq!(parse("1 2 1500 -1 1 -1"), Some((1, 2, 1500, -1, 1, -1)));
        for bad in [
            "",
            "0 -1 0 12 1",
            "0 -1 0 12 1 7 8",
            "0 -1 x 12 1 7",
            "-1 0 0 0 1 0",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(Reply::parse(&Value::Array(vec![Value::Int(0)])).is_none());
        assert!(Reply::parse(&Value::Int(0)).is_none());
    }
}
