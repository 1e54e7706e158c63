//! `impl Store for RedisStore`: each operation as one Redis round trip, and the failure mode
//! applied when Redis is unreachable.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use super::codec::{expiry_ms, refused, unavailable};
use super::{Failure, RedisStore};
use crate::config::OnUnavailable;
use crate::store::bucket::TokenDecision;
use crate::store::{
    epoch_micros, AdmitOutcome, AdmitStep, CounterDecision, Store, StoreError, StoreHealth,
};

#[async_trait]
impl Store for RedisStore {
    async fn incr_if_below(
        &self,
        key: &str,
        limit: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<CounterDecision, StoreError> {
        let full = self.key(key);
        let script = &self.scripts.incr_if_below;
        let result = self
            .call(|mut conn| async move {
                let mut inv = script.key(&full);
                inv.arg(limit).arg(expiry_ms(expires_at));
                inv.invoke_async::<(u8, u64)>(&mut conn).await
            })
            .await;
        match result {
            Ok((1, n)) => Ok(CounterDecision::Incremented(n)),
            Ok((_, n)) => Ok(CounterDecision::AtLimit(n)),
            Err(failure) => {
                self.degrade(key, "counter", failure)?;
                self.fallback.incr_if_below(key, limit, expires_at).await
            }
        }
    }

    async fn get_counter(&self, key: &str) -> Result<u64, StoreError> {
        let full = self.key(key);
        let result = self
            .call(|mut conn| async move {
                redis::cmd("GET")
                    .arg(&full)
                    .query_async::<Option<u64>>(&mut conn)
                    .await
            })
            .await;
        match result {
            Ok(n) => Ok(n.unwrap_or(0)),
            Err(failure) => {
                self.degrade(key, "counter", failure)?;
                self.fallback.get_counter(key).await
            }
        }
    }

    async fn add_counter(
        &self,
        key: &str,
        delta: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<u64, StoreError> {
        // Redis counters are signed 64-bit.
        let signed = i64::try_from(delta).map_err(|_| StoreError::Overflow(key.to_owned()))?;
        let full = self.key(key);
        let script = &self.scripts.add_counter;
        let result = self
            .call(|mut conn| async move {
                let mut inv = script.key(&full);
                inv.arg(signed).arg(expiry_ms(expires_at));
                inv.invoke_async::<u64>(&mut conn).await
            })
            .await;
        match result {
            Ok(n) => Ok(n),
            Err(failure) => {
                self.degrade(key, "counter", failure)?;
                self.fallback.add_counter(key, delta, expires_at).await
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let full = self.record_key(key);
        let result = self
            .call(|mut conn| async move {
                redis::cmd("HGET")
                    .arg(&full)
                    .arg("v")
                    .query_async::<Option<Vec<u8>>>(&mut conn)
                    .await
            })
            .await;
        match result {
            Ok(value) => Ok(value.map(Bytes::from)),
            Err(failure) => Err(self.record_failure(key, failure)),
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        if self.cluster {
            // A counter of that name lives in another slot: replaced means removed.
            self.delete_counter(key).await?;
        }
        let full = self.record_key(key);
        let script = &self.scripts.put_record;
        let result = self
            .call(|mut conn| async move {
                let mut inv = script.key(&full);
                inv.arg(value.as_ref()).arg(expiry_ms(expires_at));
                inv.invoke_async::<u8>(&mut conn).await
            })
            .await;
        result
            .map(drop)
            .map_err(|failure| self.record_failure(key, failure))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let counter = match self.cluster {
            true => self.delete_counter(key).await?,
            false => false,
        };
        let full = self.record_key(key);
        let result = self
            .call(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&full)
                    .query_async::<u64>(&mut conn)
                    .await
            })
            .await;
        result
            .map(|removed| removed > 0 || counter)
            .map_err(|failure| self.record_failure(key, failure))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
        self.list_records(prefix).await
    }

    async fn take_token(
        &self,
        key: &str,
        rate_per_sec: f64,
        burst: u64,
        now: SystemTime,
    ) -> Result<TokenDecision, StoreError> {
        if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) || burst == 0 {
            return Err(StoreError::Backend(format!(
                "invalid bucket settings for `{key}`"
            )));
        }
        let interval = 1_000_000.0 / rate_per_sec;
        let tolerance = interval * burst as f64;
        let full = self.key(key);
        let script = &self.scripts.take_token;
        let result = self
            .call(|mut conn| async move {
                let mut inv = script.key(&full);
                inv.arg(interval.to_string())
                    .arg(tolerance.to_string())
                    .arg(epoch_micros(now));
                inv.invoke_async::<(u8, u64)>(&mut conn).await
            })
            .await;
        match result {
            Ok((1, _)) => Ok(TokenDecision::Taken),
            Ok((_, wait_us)) => Ok(TokenDecision::Empty {
                retry_after: std::time::Duration::from_micros(wait_us),
            }),
            Err(failure) => {
                self.degrade(key, "token bucket", failure)?;
                self.fallback
                    .take_token(key, rate_per_sec, burst, now)
                    .await
            }
        }
    }

    async fn admit(
        &self,
        steps: &[AdmitStep<'_>],
        now: SystemTime,
    ) -> Result<AdmitOutcome, StoreError> {
        self.admit_batched(steps, now).await
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn hash_tags(&self) -> bool {
        self.cluster
    }

    fn health(&self) -> Option<Arc<StoreHealth>> {
        Some(self.link.health.clone())
    }
}

impl RedisStore {
    /// For a counter or bucket operation that failed: `Ok` means "answer it locally"
    /// (fail open), `Err` is the answer.
    fn degrade(
        &self,
        key: &str,
        expected: &'static str,
        failure: Failure,
    ) -> Result<(), StoreError> {
        match failure {
            Failure::Refused(e) => Err(refused(key, expected, e)),
            Failure::Down => {
                self.link.health.count_degraded();
                match self.link.health.mode() {
                    OnUnavailable::FailOpen => Ok(()),
                    OnUnavailable::FailClosed => Err(unavailable()),
                }
            }
        }
    }

    /// Removes the counter or bucket at `key` (on a cluster, records live apart from them).
    async fn delete_counter(&self, key: &str) -> Result<bool, StoreError> {
        let full = self.key(key);
        let result = self
            .call(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&full)
                    .query_async::<u64>(&mut conn)
                    .await
            })
            .await;
        result
            .map(|removed| removed > 0)
            .map_err(|failure| self.record_failure(key, failure))
    }

    /// For a record operation that failed: records live only in Redis, so both modes refuse.
    pub(super) fn record_failure(&self, key: &str, failure: Failure) -> StoreError {
        match failure {
            Failure::Refused(e) => refused(key, "record", e),
            Failure::Down => {
                self.link.health.count_degraded();
                unavailable()
            }
        }
    }
}
