//! Listing records by prefix: `SCAN` (on a cluster, on the master owning the records' slot)
//! and the values in one pipelined round trip.

use bytes::Bytes;
use redis::Value;

use super::codec::glob_escape;
use super::RedisStore;
use crate::store::StoreError;

/// Keys fetched per SCAN step when listing.
const SCAN_BATCH: usize = 500;

impl RedisStore {
    /// Every live record whose key starts with `prefix`, sorted by key.
    pub(super) async fn list_records(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, Bytes)>, StoreError> {
        let pattern = format!("{}*", glob_escape(&self.record_key(prefix)));
        let slot_key = &self.record_prefix;
        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let pattern = &pattern;
            let (next, batch) = self
                .call(|mut conn| async move {
                    let mut scan = redis::cmd("SCAN");
                    scan.arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_BATCH)
                        .arg("TYPE")
                        .arg("hash");
                    let reply = conn.query_at(scan, slot_key).await?;
                    redis::from_redis_value::<(u64, Vec<String>)>(reply).map_err(Into::into)
                })
                .await
                .map_err(|failure| self.record_failure(prefix, failure))?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice; the values come in one pipelined round trip.
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("HGET").arg(key).arg("v");
        }
        let pipe = &pipe;
        let values = self
            .call(|mut conn| async move { pipe.query_async::<Vec<Value>>(&mut conn).await })
            .await
            .map_err(|failure| self.record_failure(prefix, failure))?;
        let found = keys
            .into_iter()
            .zip(values)
            .filter_map(|(key, value)| match value {
                // Expired between SCAN and HGET: absent.
                Value::BulkString(bytes) => Some((
                    key[self.record_prefix.len()..].to_owned(),
                    Bytes::from(bytes),
                )),
                _ => None,
            })
            .collect();
        Ok(found)
    }
}
