//! Replicas on a shared store: a deploy, rollback or canary change made through one replica
//! bumps the store's deployment version; every replica checks that counter at most once a
//! second of [`crate::Clock`] time, piggy-backed on the requests it serves (one counter read,
//! no scan), and rebuilds its `Live` generation from the store's records when it changed —
//! the same swap a hot reload makes.

use std::sync::atomic::{AtomicU64, Ordering};

use super::history::History;
use super::{stored, LifecycleError};
use crate::stack::Stack;

/// Longest time, in clock milliseconds, a change made through another replica takes to
/// reach this one (counted from the first request after it).
pub const REFRESH_MS: u64 = 1_000;

/// What a replica knows of the shared deployment version.
pub(crate) struct DeploymentSync {
    /// Whether the store is shared; nothing is checked otherwise.
    shared: bool,
    /// When the version was last checked, in clock milliseconds.
    last_check_ms: AtomicU64,
    /// The version the running generation reflects.
    seen: AtomicU64,
}

impl DeploymentSync {
    /// Starts at `seen`, the version read before the history was.
    pub(crate) fn new(shared: bool, seen: u64, now_ms: u64) -> Self {
        DeploymentSync {
            shared,
            last_check_ms: AtomicU64::new(now_ms),
            seen: AtomicU64::new(seen),
        }
    }

    /// Claims the check when the last one is at least [`REFRESH_MS`] old; one caller wins.
    fn claim(&self, now_ms: u64) -> bool {
        let last = self.last_check_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= REFRESH_MS
            && self
                .last_check_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Records this replica's own change, which bumped the version to `version`: when no
    /// other change came between, the running generation reflects `version`; otherwise the
    /// next check reloads.
    pub(crate) fn wrote(&self, version: u64) {
        let _ = self.seen.compare_exchange(
            version.saturating_sub(1),
            version,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

impl Stack {
    /// On a shared store, once a second of clock time: reloads the deployment history when
    /// another replica changed it. Cheap otherwise (a flag, a clock read, an atomic). Never
    /// waits behind a lifecycle change in this process: that one is reading the store anyway.
    pub(crate) async fn refresh_deployments_if_due(&self) {
        let sync = &self.inner.deployment_sync;
        if !sync.shared || !sync.claim(self.inner.clock.now_millis()) {
            return;
        }
        // While the store is down (it logged so once), a counter read would answer from the
        // fail-open fallback or fail; the first check after it recovers catches up.
        if self.inner.store.health().is_some_and(|h| !h.is_available()) {
            return;
        }
        let Ok(mut guard) = self.inner.changes.try_lock() else {
            return;
        };
        if let Err(e) = self.refresh_locked(&mut guard).await {
            // The running generation keeps serving; the next check tries again.
            tracing::warn!(error = %e, "deployment history not refreshed from the store");
        }
    }

    /// Reloads the deployment history from the store when its version differs from the one
    /// this replica runs, and swaps in the generation built from it. Answers whether it did.
    pub async fn refresh_deployments(&self) -> Result<bool, LifecycleError> {
        let mut guard = self.inner.changes.lock().await;
        self.refresh_locked(&mut guard).await
    }

    async fn refresh_locked(&self, guard: &mut History) -> Result<bool, LifecycleError> {
        let store = &*self.inner.store;
        let storage = |e: String| LifecycleError::Storage(e);
        let version = stored::version(store)
            .await
            .map_err(|e| storage(e.to_string()))?;
        let sync = &self.inner.deployment_sync;
        if version == sync.seen.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let history = stored::load(store).await.map_err(storage)?;
        let live = self.inner.live();
        // A history this replica's config cannot serve is logged by build_live and not
        // retried until the version moves again.
        sync.seen.store(version, Ordering::Relaxed);
        let (next, _) = self.build_live(live.config.clone(), &history, Some(&live))?;
        *guard = history;
        self.inner.swap(next);
        tracing::info!(
            version,
            "deployments changed through another replica; swapped in"
        );
        Ok(true)
    }
}
