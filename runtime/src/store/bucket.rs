//! Token buckets as GCRA (the algorithm governor uses): one number per bucket, the
//! "theoretical arrival time" of the next request, so a take is a single atomic update.
//!
//! [`gcra`] is the one definition; the Redis Lua script in `redis/scripts.rs` mirrors it.

use std::time::Duration;

/// The outcome of [`super::Store::take_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenDecision {
    /// A token was taken.
    Taken,
    /// The bucket is empty; a token will be available after this wait.
    Empty {
        /// Time until the next token.
        retry_after: Duration,
    },
}

/// One GCRA step in microseconds: given the stored arrival time (`None` for a new or
/// forgotten bucket) and `now`, the decision and the arrival time to store when taken.
///
/// Returns `None` when the rate is not a positive finite number or the burst is 0.
pub(crate) fn gcra(
    stored_tat: Option<u64>,
    now: u64,
    rate_per_sec: f64,
    burst: u64,
) -> Option<(TokenDecision, Option<u64>)> {
    if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) || burst == 0 {
        return None;
    }
    let interval = 1_000_000.0 / rate_per_sec;
    let tolerance = interval * burst as f64;
    let tat = stored_tat.unwrap_or(now).max(now);
    let new_tat = tat as f64 + interval;
    let ahead = new_tat - now as f64;
    if ahead > tolerance {
        let wait = (ahead - tolerance).ceil();
        let retry_after = Duration::from_micros(wait as u64);
        return Some((TokenDecision::Empty { retry_after }, None));
    }
    Some((TokenDecision::Taken, Some(new_tat.ceil() as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_gives_burst_tokens_then_refills_at_the_rate() {
        let mut tat = None;
        for _ in 0..3 {
            let (decision, next) = gcra(tat, 0, 10.0, 3).unwrap();
            assert_eq!(decision, TokenDecision::Taken);
            tat = next;
        }
        let (decision, _) = gcra(tat, 0, 10.0, 3).unwrap();
        assert_eq!(
            decision,
            TokenDecision::Empty {
                retry_after: Duration::from_millis(100)
            }
        );
        let (decision, _) = gcra(tat, 100_000, 10.0, 3).unwrap();
        assert_eq!(decision, TokenDecision::Taken);
    }

    #[test]
    fn nonsense_settings_are_refused() {
        assert!(gcra(None, 0, 0.0, 1).is_none());
        assert!(gcra(None, 0, f64::NAN, 1).is_none());
        assert!(gcra(None, 0, 1.0, 0).is_none());
    }
}
