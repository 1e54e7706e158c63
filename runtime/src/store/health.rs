//! [`StoreHealth`]: whether a networked store's backend is reachable, told once per change in
//! the log and continuously in the metrics (`Portico/Store` `Unavailable`, `Outages`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::config::OnUnavailable;
use crate::observe::metrics::{Kind, Metrics, Series};

const NAMESPACE: &str = "Portico/Store";

/// Availability of one store backend, shared by the store and whoever reports on it.
pub struct StoreHealth {
    backend: String,
    mode: OnUnavailable,
    available: AtomicBool,
    changes: tokio::sync::watch::Sender<bool>,
    series: OnceLock<HealthSeries>,
}

struct HealthSeries {
    metrics: Arc<Metrics>,
    unavailable: Arc<Series>,
    outages: Arc<Series>,
}

impl StoreHealth {
    /// A reachable backend described as `backend` in logs (never with credentials).
    pub fn new(backend: String, mode: OnUnavailable) -> Self {
        StoreHealth {
            backend,
            mode,
            available: AtomicBool::new(true),
            changes: tokio::sync::watch::Sender::new(true),
            series: OnceLock::new(),
        }
    }

    /// Whether the backend answered the last operation or probe.
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    /// Follows availability changes (e.g. to wait for recovery without polling).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.changes.subscribe()
    }

    /// What the store does while the backend is unreachable.
    pub fn mode(&self) -> OnUnavailable {
        self.mode
    }

    /// Records into `metrics` from now on; later calls are ignored.
    pub fn attach_metrics(&self, metrics: &Arc<Metrics>) {
        let dims = || vec![("Backend", "redis".to_owned())];
        let _ = self.series.set(HealthSeries {
            unavailable: metrics.series(NAMESPACE, "Unavailable", dims(), Kind::Counter),
            outages: metrics.series(NAMESPACE, "Outages", dims(), Kind::Counter),
            metrics: metrics.clone(),
        });
    }

    /// Marks the backend unreachable; logs and counts an outage only on the change.
    pub(crate) fn mark_unavailable(&self, reason: &str) {
        if self.available.swap(false, Ordering::Relaxed) {
            self.changes.send_replace(false);
            tracing::error!(
                backend = %self.backend,
                mode = ?self.mode,
                reason,
                "store unavailable"
            );
            if let Some(s) = self.series.get() {
                s.metrics.record(&s.outages, 1);
            }
        }
    }

    /// Marks the backend reachable again; logs only on the change.
    pub(crate) fn mark_available(&self) {
        if !self.available.swap(true, Ordering::Relaxed) {
            self.changes.send_replace(true);
            tracing::warn!(backend = %self.backend, "store recovered");
        }
    }

    /// Counts one operation refused (fail closed) or answered locally (fail open).
    pub(crate) fn count_degraded(&self) {
        if let Some(s) = self.series.get() {
            s.metrics.record(&s.unavailable, 1);
        }
    }
}
