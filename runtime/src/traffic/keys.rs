//! API keys: declared in config or created at runtime, found by value in constant time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::{ApiKeyConfig, MIN_KEY_VALUE_LEN};
use super::counters::KeyCounters;
use super::error::TrafficError;
use crate::Clock;

const ID_LEN: usize = 10;
const GENERATED_VALUE_LEN: usize = 40;
const ALPHANUMERIC: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A key's secret value. `Display` and `Debug` mask all but the last 4 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue(String);

impl KeyValue {
    /// The full value, for the management API's `includeValue` and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl KeyValue {
    /// A value read back from the store, already validated when it was created.
    pub(crate) fn from_stored(value: String) -> Self {
        KeyValue(value)
    }
}

impl fmt::Display for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars = self.0.chars().count();
        let tail: String = self.0.chars().skip(chars.saturating_sub(4)).collect();
        write!(f, "{}{tail}", "*".repeat(chars.saturating_sub(4)))
    }
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyValue({self})")
    }
}

/// One API key as API Gateway models it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Identifier (10 lowercase alphanumerics).
    pub id: Arc<str>,
    /// Display name.
    pub name: String,
    /// The secret value clients send in `x-api-key`.
    pub value: KeyValue,
    /// Free-form description.
    pub description: Option<String>,
    /// Disabled keys are refused like unknown ones.
    pub enabled: bool,
    /// When the key was created.
    pub created: SystemTime,
    /// When the key last changed.
    pub last_updated: SystemTime,
    /// Usage plans the key belongs to.
    pub usage_plans: Vec<Arc<str>>,
    /// Legacy `restApiId/stage` associations, kept as given.
    pub stage_keys: Vec<String>,
    /// Admission outcomes of requests with this key, kept across updates of the key.
    pub counters: Arc<KeyCounters>,
}

/// What [`ApiKeys::create`] needs; mirrors API Gateway's `CreateApiKey` request.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// Display name.
    pub name: String,
    /// The value; 40 random alphanumerics when `None`.
    pub value: Option<String>,
    /// Free-form description.
    pub description: Option<String>,
    /// Whether the key starts enabled.
    pub enabled: bool,
    /// Usage plans to join (the caller checks they exist).
    pub usage_plans: Vec<String>,
    /// Legacy stage associations.
    pub stage_keys: Vec<String>,
}

/// The key registry. Reads take a short read lock and clone an `Arc`.
pub struct ApiKeys {
    clock: Clock,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_digest: HashMap<[u8; 32], Arc<ApiKey>>,
    by_id: BTreeMap<Arc<str>, Arc<ApiKey>>,
}

impl ApiKeys {
    /// A registry holding the keys declared in config, with ids derived from their names so
    /// they are stable across restarts.
    pub fn from_config(keys: &[ApiKeyConfig], clock: Clock) -> Result<Self, TrafficError> {
        let registry = ApiKeys {
            clock,
            inner: RwLock::default(),
        };
        for key in keys {
            let id = stable_id(&key.name);
            registry.insert(
                id,
                NewApiKey {
                    name: key.name.clone(),
                    value: key.value.clone(),
                    description: key.description.clone(),
                    enabled: key.enabled,
                    usage_plans: key.usage_plans.clone(),
                    stage_keys: Vec::new(),
                },
            )?;
        }
        Ok(registry)
    }

    /// Creates a key at runtime with a random id.
    pub fn create(&self, new: NewApiKey) -> Result<Arc<ApiKey>, TrafficError> {
        self.insert(random_string(ID_LEN, &ALPHANUMERIC[..36])?, new)
    }

    fn insert(&self, id: String, new: NewApiKey) -> Result<Arc<ApiKey>, TrafficError> {
        if new.name.trim().is_empty() {
            return Err(TrafficError::BadRequest(
                "API key name must not be empty".into(),
            ));
        }
        let value = match new.value {
            Some(v) if v.chars().count() < MIN_KEY_VALUE_LEN => {
                return Err(TrafficError::BadRequest(format!(
                    "API Key value should be at least {MIN_KEY_VALUE_LEN} characters"
                )))
            }
            Some(v) => v,
            None => random_string(GENERATED_VALUE_LEN, ALPHANUMERIC)?,
        };
        let now = self.clock.now();
        let key = Arc::new(ApiKey {
            id: Arc::from(id),
            name: new.name,
            value: KeyValue(value),
            description: new.description,
            enabled: new.enabled,
            created: now,
            last_updated: now,
            usage_plans: new.usage_plans.into_iter().map(Arc::from).collect(),
            stage_keys: new.stage_keys,
            counters: Arc::default(),
        });
        let digest = digest(key.value.expose());
        let mut inner = self.write();
        if inner.by_digest.contains_key(&digest) {
            return Err(TrafficError::Conflict(
                "API Key value already exists".into(),
            ));
        }
        if inner.by_id.contains_key(&key.id) {
            return Err(TrafficError::Conflict(format!(
                "API Key id `{}` already exists",
                key.id
            )));
        }
        inner.by_digest.insert(digest, key.clone());
        inner.by_id.insert(key.id.clone(), key.clone());
        Ok(key)
    }

    /// The key whose value is `value`. The value is hashed to find the candidate, then
    /// compared in constant time, so timing reveals nothing about stored values.
    pub fn find_by_value(&self, value: &str) -> Option<Arc<ApiKey>> {
        let candidate = self.read().by_digest.get(&digest(value)).cloned()?;
        let same: bool = candidate
            .value
            .expose()
            .as_bytes()
            .ct_eq(value.as_bytes())
            .into();
        same.then_some(candidate)
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Option<Arc<ApiKey>> {
        self.read().by_id.get(id).cloned()
    }

    /// Every key, ordered by id.
    pub fn list(&self) -> Vec<Arc<ApiKey>> {
        self.read().by_id.values().cloned().collect()
    }

    /// Enables or disables a key.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<Arc<ApiKey>, TrafficError> {
        self.update(id, |key| key.enabled = enabled)
    }

    /// Adds the key to a usage plan (the caller checks the plan exists and fits).
    pub fn join_plan(&self, id: &str, plan_id: &str) -> Result<Arc<ApiKey>, TrafficError> {
        self.update(id, |key| {
            if !key.usage_plans.iter().any(|p| &**p == plan_id) {
                key.usage_plans.push(Arc::from(plan_id));
            }
        })
    }

    /// Removes a key.
    pub fn delete(&self, id: &str) -> Result<(), TrafficError> {
        let mut inner = self.write();
        let key = inner.by_id.remove(id).ok_or_else(|| not_found(id))?;
        inner.by_digest.remove(&digest(key.value.expose()));
        Ok(())
    }

    /// Puts `key` in place of whatever has its id (a restored or rolled-back key).
    pub(crate) fn restore(&self, key: ApiKey) {
        let key = Arc::new(key);
        let mut inner = self.write();
        if let Some(old) = inner.by_id.insert(key.id.clone(), key.clone()) {
            inner.by_digest.remove(&digest(old.value.expose()));
        }
        inner
            .by_digest
            .insert(digest(key.value.expose()), key.clone());
    }

    /// Drops the key `id` if present.
    pub(crate) fn forget(&self, id: &str) {
        let mut inner = self.write();
        if let Some(old) = inner.by_id.remove(id) {
            inner.by_digest.remove(&digest(old.value.expose()));
        }
    }

    fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut ApiKey),
    ) -> Result<Arc<ApiKey>, TrafficError> {
        let now = self.clock.now();
        let mut inner = self.write();
        let current = inner.by_id.get(id).ok_or_else(|| not_found(id))?;
        let mut key = ApiKey::clone(current);
        change(&mut key);
        key.last_updated = now;
        let key = Arc::new(key);
        inner
            .by_digest
            .insert(digest(key.value.expose()), key.clone());
        inner.by_id.insert(key.id.clone(), key.clone());
        Ok(key)
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Every writer leaves both maps consistent, so a poisoned lock is still usable.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn not_found(id: &str) -> TrafficError {
    TrafficError::NotFound {
        kind: "API Key",
        id: id.to_owned(),
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// A 10-character id derived from the key's name.
fn stable_id(name: &str) -> String {
    let hash = Sha256::digest(format!("portico-api-key:{name}").as_bytes());
    hash.iter()
        .take(ID_LEN)
        .map(|b| char::from(ALPHANUMERIC[usize::from(*b) % 36]))
        .collect()
}

/// `len` characters drawn uniformly from `alphabet` using the OS's random source.
fn random_string(len: usize, alphabet: &[u8]) -> Result<String, TrafficError> {
    // Rejection sampling keeps the distribution uniform over the alphabet.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)
            .map_err(|e| TrafficError::BadRequest(format!("no randomness available: {e}")))?;
        for b in buf.iter().map(|b| usize::from(*b)).filter(|b| *b < limit) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[b % alphabet.len()]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
