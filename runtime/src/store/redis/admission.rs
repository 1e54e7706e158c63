//! One admission as the batched `ADMIT` script takes it ([`Admission`], owned so it can wait
//! in a queue), how a batch of them is written as one EVALSHA, and the script's answers
//! ([`Reply`]).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::SystemTime;

use foldhash::fast::RandomState;
use redis::{Cmd, Script, Value};

use super::codec::{Expiry, FullKey};
use crate::store::{epoch_micros, AdmitStep};

/// What one step asks of the script.
#[derive(Debug, Clone, Copy)]
enum Op {
    Watch,
    Take { interval: f64, tolerance: f64 },
    Quota { limit: u64, expiry: Expiry },
    Usage { expiry: Expiry },
}

impl Op {
    /// The step as plain bits, so equal steps of different requests are sent once.
    fn bits(&self) -> (u8, u64, u64, Expiry) {
        let never = Expiry(None);
        match *self {
            Op::Watch => (0, 0, 0, never),
            Op::Take {
                interval,
                tolerance,
            } => (1, interval.to_bits(), tolerance.to_bits(), never),
            Op::Quota { limit, expiry } => (2, limit, 0, expiry),
            Op::Usage { expiry } => (3, 0, 0, expiry),
        }
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        self.bits() == other.bits()
    }
}

impl Eq for Op {}

impl Hash for Op {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits().hash(state);
    }
}

/// The steps of one admission (or of one hash-slot group of it), with their full key names.
pub(super) struct Admission {
    now_us: u64,
    keys: Vec<String>,
    ops: Vec<Op>,
}

impl Admission {
    /// `steps` with their full `keys`, at `now`. Bucket settings must have been checked.
    pub(super) fn new(steps: &[AdmitStep<'_>], keys: &[FullKey<'_>], now: SystemTime) -> Self {
        let ops = steps
            .iter()
            .map(|step| match *step {
                AdmitStep::Watch { .. } => Op::Watch,
                AdmitStep::Take {
                    rate_per_sec,
                    burst,
                    ..
                } => {
                    let interval = 1_000_000.0 / rate_per_sec;
                    Op::Take {
                        interval,
                        tolerance: interval * burst as f64,
                    }
                }
                AdmitStep::Quota {
                    limit, expires_at, ..
                } => Op::Quota {
                    limit,
                    expiry: Expiry(expires_at),
                },
                AdmitStep::Usage { expires_at, .. } => Op::Usage {
                    expiry: Expiry(expires_at),
                },
            })
            .collect();
        Admission {
            now_us: epoch_micros(now),
            // Spelled out rather than through `Display`: the formatter costs more than
            // the copy.
            keys: keys
                .iter()
                .map(|key| {
                    let mut full = String::with_capacity(key.prefix.len() + key.key.len());
                    full.push_str(key.prefix);
                    full.push_str(key.key);
                    full
                })
                .collect(),
            ops,
        }
    }

    /// One EVALSHA of `script` running `batch` in order (see `ADMIT`): every distinct key
    /// once in KEYS, every distinct step list once (requests with one API key share
    /// theirs), then each admission as its list's number and its clock reading. Built
    /// straight into the command buffer: floats go out in ryu's shortest form, integers
    /// through itoa.
    pub(super) fn command<'a>(
        script: &Script,
        batch: impl Iterator<Item = &'a Admission> + Clone,
    ) -> Cmd {
        type Lists<'a> = HashMap<(&'a [String], &'a [Op]), usize, RandomState>;
        let mut lists: Lists<'a> = HashMap::default();
        let mut distinct: Vec<&Admission> = Vec::new();
        let mut list_of: Vec<usize> = Vec::new();
        for admission in batch.clone() {
            let next = distinct.len() + 1;
            let list = *lists
                .entry((&admission.keys, &admission.ops))
                .or_insert(next);
            if list == next {
                distinct.push(admission);
            }
            list_of.push(list);
        }
        let mut index: HashMap<&str, usize, RandomState> = HashMap::default();
        let mut keys: Vec<&str> = Vec::new();
        let mut key_of_step: Vec<usize> = Vec::new();
        let mut args = 1 + 2 * list_of.len();
        for admission in &distinct {
            args += 1 + 4 * admission.ops.len();
            for key in &admission.keys {
                let next = keys.len() + 1;
                let at = *index.entry(key.as_str()).or_insert(next);
                if at == next {
                    keys.push(key);
                }
                key_of_step.push(at);
            }
        }
        let mut cmd = Cmd::with_capacity(3 + keys.len() + args, 64 * keys.len() + 24 * args);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys.len());
        for key in &keys {
            cmd.arg(*key);
        }
        cmd.arg(distinct.len());
        let mut key_of_step = key_of_step.into_iter();
        for admission in &distinct {
            cmd.arg(admission.ops.len());
            for op in &admission.ops {
                cmd.arg(key_of_step.next().unwrap_or(0));
                match *op {
                    Op::Watch => cmd.arg("w").arg("").arg(""),
                    Op::Take {
                        interval,
                        tolerance,
                    } => cmd.arg("t").arg(interval).arg(tolerance),
                    Op::Quota { limit, expiry } => cmd.arg("q").arg(limit).arg(expiry),
                    Op::Usage { expiry } => cmd.arg("u").arg(1).arg(expiry),
                };
            }
        }
        for (admission, list) in batch.zip(list_of) {
            cmd.arg(list).arg(admission.now_us);
        }
        cmd
    }
}

/// One admission's answer: status, step, value, quota used, usage ok, watched (see `ADMIT`).
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u8,
    pub(super) step: i64,
    pub(super) value: u64,
    pub(super) quota_used: i64,
    pub(super) usage_ok: u8,
    pub(super) watched: i64,
}

impl Reply {
    /// Splits the script's reply into exactly `count` answers; `None` when it does not fit.
    pub(super) fn split(value: &Value, count: usize) -> Option<Vec<Reply>> {
        let Value::BulkString(bytes) = value else {
            return None;
        };
        let replies = std::str::from_utf8(bytes)
            .ok()?
            .split(',')
            .map(Reply::parse)
            .collect::<Option<Vec<_>>>()?;
        (replies.len() == count).then_some(replies)
    }

    /// Reads one `status step value quota_used usage_ok watched` answer.
    fn parse(text: &str) -> Option<Reply> {
        let mut numbers = text.split(' ');
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

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::Reply;

    /// An answer's six fields, in the script's order.
    type Fields = (u8, i64, u64, i64, u8, i64);

    fn split(text: &str, count: usize) -> Option<Vec<Fields>> {
        let value = Value::BulkString(text.as_bytes().to_vec());
        Reply::split(&value, count).map(|replies| {
            replies
                .into_iter()
                .map(|r| {
                    (
                        r.status,
                        r.step,
                        r.value,
                        r.quota_used,
                        r.usage_ok,
                        r.watched,
                    )
                })
                .collect()
        })
    }

    #[test]
    fn an_answer_is_six_integers_and_a_batch_has_one_per_admission() {
        assert_eq!(split("0 -1 0 12 1 7", 1), Some(vec![(0, -1, 0, 12, 1, 7)]));
        assert_eq!(
            split("1 2 1500 -1 1 -1,0 -1 0 3 0 9", 2),
            Some(vec![(1, 2, 1500, -1, 1, -1), (0, -1, 0, 3, 0, 9)])
        );
        for (bad, count) in [
            ("", 1),
            ("0 -1 0 12 1", 1),
            ("0 -1 0 12 1 7 8", 1),
            ("0 -1 x 12 1 7", 1),
            ("-1 0 0 0 1 0", 1),
            ("0 -1 0 12 1 7", 2),
            ("0 -1 0 12 1 7,0 -1 0 12 1 7", 1),
            ("0 -1 0 12 1 7,", 1),
        ] {
            assert_eq!(split(bad, count), None, "{bad:?} as {count}");
        }
        assert!(Reply::split(&Value::Array(vec![Value::Int(0)]), 1).is_none());
        assert!(Reply::split(&Value::Int(0), 1).is_none());
    }
}
