//! [`Store::admit`](crate::store::Store::admit) on Redis: every step of one admission in the
//! batched `ADMIT` script, so a keyed request costs at most one script call — fewer under
//! concurrency, when admissions queued behind one in flight share the next call (see
//! [`batch`](super::batch)).
//!
//! A script's keys must share a hash slot on a Redis Cluster, so there the steps run as one
//! script per run of consecutive same-slot steps, in order, stopping at a refusal, each
//! batched with other admissions' groups of the same slot; the traffic layer's hash tags
//! make that two: the account/stage group, then the per-key group.

use std::time::{Duration, SystemTime};

use redis::cluster_routing::Slot;
use redis::{ErrorKind, Script, ServerErrorKind};

use super::admission::{Admission, Reply};
use super::batch::BatchError;
use super::codec::{unavailable, FullKey};
use super::conn::{slot, Conn};
use super::RedisStore;
use crate::config::OnUnavailable;
use crate::store::{AdmitOutcome, AdmitRefusal, AdmitStep, Store, StoreError};

impl RedisStore {
    /// Runs `steps` as one admission of the next batched script call (on a cluster, one
    /// per hash-slot group, each in its slot's batch); while Redis is down, fails closed or
    /// runs what is left on the local fallback (fail open), where nothing is watched.
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
            let group = slots.get(start).copied();
            match self
                .run_group(&steps[start..end], &full[start..end], group, now)
                .await
            {
                Ok(reply) => {
                    merge(&mut outcome, decode(&steps[start..end], start, reply)?);
                    if outcome.refusal.is_some() {
                        return Ok(outcome);
                    }
                }
                Err(BatchError::Backend(message)) => return Err(StoreError::Backend(message)),
                Err(BatchError::Down) => {
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

    /// Queues one group of steps for the next batch of its slot and waits for its answer.
    async fn run_group(
        &self,
        steps: &[AdmitStep<'_>],
        keys: &[FullKey<'_>],
        slot: Option<Slot>,
        now: SystemTime,
    ) -> Result<Reply, BatchError> {
        if !self.link.health.is_available() {
            // Known down: answer at once, as every other operation does, without queueing.
            return Err(BatchError::Down);
        }
        let admission = Admission::new(steps, keys, now);
        self.batchers.for_slot(slot).submit(admission).await
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
