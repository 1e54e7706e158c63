//! API keys on a shared store: keys created, changed or deleted through another replica
//! reach this one by reloading the key records from the store — on an unknown key value
//! (so a new key works everywhere at once) and at most once a second otherwise (so
//! disabled and deleted keys stop working everywhere).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::control::TrafficControl;
use super::keys::ApiKey;

/// Least time between two reloads caused by unknown key values, so a client guessing keys
/// cannot turn every request into a store scan.
const MISS_RELOAD_MS: u64 = 100;
/// Longest time a change made through another replica takes to reach this one.
const REFRESH_MS: u64 = 1_000;

/// When the keys were last reloaded, in clock milliseconds.
#[derive(Default)]
pub(crate) struct KeyReload {
    last_ms: AtomicU64,
}

impl KeyReload {
    /// Claims a reload when the last one is at least `gap_ms` old; one caller wins.
    fn claim(&self, now_ms: u64, gap_ms: u64) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= gap_ms
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl TrafficControl {
    /// The key with this value, reloading the keys from a shared store when due.
    pub(crate) async fn find_key(&self, value: &str) -> Option<Arc<ApiKey>> {
        if !self.store.is_shared() {
            return self.keys.find_by_value(value);
        }
        let now_ms = self.clock.now_millis();
        if self.key_reload.claim(now_ms, REFRESH_MS) {
            self.reload_keys().await;
        }
        if let Some(key) = self.keys.find_by_value(value) {
            return Some(key);
        }
        if self.key_reload.claim(now_ms, MISS_RELOAD_MS) {
            self.reload_keys().await;
        }
        self.keys.find_by_value(value)
    }

    async fn reload_keys(&self) {
        if let Err(e) = self.restore_keys().await {
            // The keys already known keep working; the next reload tries again.
            tracing::warn!(error = %e, "reloading API keys from the store failed");
        }
    }
}
