//! API keys on a shared store: keys created, changed or deleted through another replica
//! reach this one through a version counter every key write bumps (see `persist.rs`).
//!
//! Keyed admissions read the version in their one store round trip; when no admission read
//! it for a second, the next key lookup reads it alone (one GET). The key records are
//! listed only when the version changed, or on an unknown key value (so a new key works
//! everywhere at once), and never more often than every [`MISS_RELOAD_MS`] — so a client
//! guessing keys cannot turn every request into a store scan.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::control::TrafficControl;
use super::keys::ApiKey;
use super::persist::KEYS_VERSION;

/// Least time between two listings of the key records.
const MISS_RELOAD_MS: u64 = 100;
/// Longest time a change made through another replica takes to reach this one.
pub(crate) const REFRESH_MS: u64 = 1_000;

/// What this replica knows of the shared key records.
#[derive(Default)]
pub(crate) struct KeyReload {
    /// When the version was last read, in clock milliseconds.
    checked_ms: AtomicU64,
    /// When the records were last listed, in clock milliseconds.
    listed_ms: AtomicU64,
    /// The version the in-memory registry reflects.
    version: AtomicU64,
}

/// Claims `last` when it is at least `gap_ms` old; one caller wins.
fn claim(last_ms: &AtomicU64, now_ms: u64, gap_ms: u64) -> bool {
    let last = last_ms.load(Ordering::Relaxed);
    now_ms.saturating_sub(last) >= gap_ms
        && last_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

impl KeyReload {
    /// Records that the registry now reflects `version` of the key records.
    pub(crate) fn loaded(&self, version: u64) {
        self.version.store(version, Ordering::Relaxed);
    }
}

impl TrafficControl {
    /// The key with this value, reloading the keys from a shared store when due.
    pub(crate) async fn find_key(&self, value: &str) -> Option<Arc<ApiKey>> {
        if !self.store.is_shared() {
            return self.keys.find_by_value(value);
        }
        let now_ms = self.clock.now_millis();
        if claim(&self.key_reload.checked_ms, now_ms, REFRESH_MS) {
            match self.store.get_counter(KEYS_VERSION).await {
                Ok(version) => self.keys_version_seen(version).await,
                Err(e) => tracing::warn!(error = %e, "reading the API key version failed"),
            }
        }
        if let Some(key) = self.keys.find_by_value(value) {
            return Some(key);
        }
        if claim(&self.key_reload.listed_ms, now_ms, MISS_RELOAD_MS) {
            self.reload_keys().await;
        }
        self.keys.find_by_value(value)
    }

    /// Notes the key records' `version` read from the store; lists them when it changed.
    pub(crate) async fn keys_version_seen(&self, version: u64) {
        let now_ms = self.clock.now_millis();
        self.key_reload.checked_ms.store(now_ms, Ordering::Relaxed);
        if version == self.key_reload.version.load(Ordering::Relaxed) {
            return;
        }
        // Unclaimed (a listing ran < MISS_RELOAD_MS ago): the version still differs, so a
        // later request lists them.
        if claim(&self.key_reload.listed_ms, now_ms, MISS_RELOAD_MS) {
            self.reload_keys().await;
        }
    }

    async fn reload_keys(&self) {
        if let Err(e) = self.restore_keys().await {
            // The keys already known keep working; the next reload tries again.
            tracing::warn!(error = %e, "reloading API keys from the store failed");
        }
    }
}
