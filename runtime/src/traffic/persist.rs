//! API keys (and their usage-plan associations) written through to the [`Store`], and read
//! back at start-up, so keys created or changed at runtime survive a restart.
//!
//! The in-memory registry stays the read path (a request's key lookup never touches the
//! store); every management change is written to the store before the client is answered,
//! and undone in memory when that write fails.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::control::TrafficControl;
use super::error::TrafficError;
use super::keys::{ApiKey, KeyValue};
use crate::store::StoreExt;

/// Store keys of API key records: `apikey/{id}`.
pub const KEY_PREFIX: &str = "apikey/";
/// Store counter bumped by every key write on a shared store, so replicas list the key
/// records only when it changed (outside [`KEY_PREFIX`]: listings skip it). Tagged like the
/// account bucket it is read with (see `shared_throttle.rs`).
pub(crate) const KEYS_VERSION: &str = "{traffic}/apikey-version";

/// An API key as stored. A deleted key leaves a tombstone so a key declared in config and
/// deleted at runtime stays deleted after a restart.
#[derive(Debug, Serialize, Deserialize)]
struct StoredKey {
    id: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    created_ms: u64,
    #[serde(default)]
    last_updated_ms: u64,
    #[serde(default)]
    usage_plans: Vec<String>,
    #[serde(default)]
    stage_keys: Vec<String>,
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl StoredKey {
    fn of(key: &ApiKey) -> Self {
        StoredKey {
            id: key.id.to_string(),
            deleted: false,
            name: key.name.clone(),
            value: key.value.expose().to_owned(),
            description: key.description.clone(),
            enabled: key.enabled,
            created_ms: millis(key.created),
            last_updated_ms: millis(key.last_updated),
            usage_plans: key.usage_plans.iter().map(|p| p.to_string()).collect(),
            stage_keys: key.stage_keys.clone(),
        }
    }

    fn tombstone(id: &str) -> Self {
        StoredKey {
            id: id.to_owned(),
            deleted: true,
            name: String::new(),
            value: String::new(),
            description: None,
            enabled: false,
            created_ms: 0,
            last_updated_ms: 0,
            usage_plans: Vec::new(),
            stage_keys: Vec::new(),
        }
    }

    fn into_key(self) -> ApiKey {
        ApiKey {
            id: Arc::from(self.id),
            name: self.name,
            value: KeyValue::from_stored(self.value),
            description: self.description,
            enabled: self.enabled,
            created: UNIX_EPOCH + Duration::from_millis(self.created_ms),
            last_updated: UNIX_EPOCH + Duration::from_millis(self.last_updated_ms),
            usage_plans: self.usage_plans.into_iter().map(Arc::from).collect(),
            stage_keys: self.stage_keys,
            counters: Arc::default(),
        }
    }
}

impl TrafficControl {
    /// Writes the key `id` as it now is in memory (a tombstone when it is gone) to the store.
    /// When the write fails, the key is put back as `before` in memory and the error returned,
    /// so the client's change is either durable or not made.
    pub async fn persist_key(
        &self,
        id: &str,
        before: Option<Arc<ApiKey>>,
    ) -> Result<(), TrafficError> {
        let record = match self.keys.get(id) {
            Some(key) => StoredKey::of(&key),
            None => StoredKey::tombstone(id),
        };
        let written = self
            .store
            .put_json(&format!("{KEY_PREFIX}{id}"), &record, None)
            .await;
        if let Err(e) = written {
            match before {
                Some(key) => self.keys.restore(ApiKey::clone(&key)),
                None => self.keys.forget(id),
            }
            return Err(e.into());
        }
        if self.store.is_shared() {
            // After the record, so a replica that sees the new version finds the record.
            if let Err(e) = self.store.add_counter(KEYS_VERSION, 1, None).await {
                tracing::warn!(error = %e, key_id = id, "the change is stored but other replicas see it only on their next key listing");
            }
        }
        Ok(())
    }

    /// Loads every key the store holds over the ones from config; returns how many records
    /// were applied. A record that is not a valid key is an error naming its store key.
    pub async fn restore_keys(&self) -> Result<usize, TrafficError> {
        // Read before listing: a write after this read bumps it again, so none is missed.
        let version = if self.store.is_shared() {
            Some(self.store.get_counter(KEYS_VERSION).await?)
        } else {
            None
        };
        let records = self.store.list(KEY_PREFIX).await?;
        let count = records.len();
        for (store_key, bytes) in records {
            let stored: StoredKey = serde_json::from_slice(&bytes).map_err(|source| {
                crate::store::StoreError::Codec {
                    key: store_key.clone(),
                    source,
                }
            })?;
            if stored.deleted {
                self.keys.forget(&stored.id);
            } else {
                self.keys.restore(stored.into_key());
            }
        }
        if let Some(version) = version {
            self.key_reload.loaded(version);
        }
        Ok(count)
    }
}
