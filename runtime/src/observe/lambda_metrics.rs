//! Lambda's metrics for one function (`AWS/Lambda`: Invocations, Errors, Duration,
//! ConcurrentExecutions), resolved once per function so an invocation records with atomics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::metrics::{Kind, Metrics, Series};

const NAMESPACE: &str = "AWS/Lambda";

/// The series one function records into.
pub struct LambdaMetrics {
    metrics: Arc<Metrics>,
    invocations: Arc<Series>,
    errors: Arc<Series>,
    duration: Arc<Series>,
    concurrent: Arc<Series>,
    init_duration: Arc<Series>,
    throttles: Arc<Series>,
    in_flight: AtomicU64,
}

impl LambdaMetrics {
    /// The series of function `name`.
    pub fn new(metrics: Arc<Metrics>, name: &str) -> Self {
        let dims = || vec![("FunctionName", name.to_owned())];
        LambdaMetrics {
            invocations: metrics.series(NAMESPACE, "Invocations", dims(), Kind::Counter),
            errors: metrics.series(NAMESPACE, "Errors", dims(), Kind::Counter),
            duration: metrics.series(NAMESPACE, "Duration", dims(), Kind::Distribution),
            concurrent: metrics.series(
                NAMESPACE,
                "ConcurrentExecutions",
                dims(),
                Kind::Distribution,
            ),
            init_duration: metrics.series(NAMESPACE, "InitDuration", dims(), Kind::Distribution),
            throttles: metrics.series(NAMESPACE, "Throttles", dims(), Kind::Counter),
            in_flight: AtomicU64::new(0),
            metrics,
        }
    }

    /// Counts an invocation starting at `now_ms` (on the stack's clock) as running until the
    /// returned guard ends it.
    pub fn start(&self, now_ms: u64) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        // Sampled at each start, so the minute's Maximum is the peak concurrency.
        self.concurrent.record(minute(now_ms), now);
        InFlight { owner: self }
    }

    /// Counts an invocation refused by a concurrency cap.
    pub fn throttled(&self) {
        self.metrics.record(&self.throttles, 1);
    }

    /// Instantaneous invocations in flight.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// One running invocation; dropping it without [`InFlight::finish`] (a caller gave up)
/// still ends it.
pub struct InFlight<'a> {
    owner: &'a LambdaMetrics,
}

impl InFlight<'_> {
    /// Records the invocation finished at `now_ms`: whether it failed, how long it ran and,
    /// for a cold start, how long the init took (one InitDuration sample per cold start).
    pub fn finish(
        self,
        failed: bool,
        duration_ms: f64,
        init_duration_ms: Option<f64>,
        now_ms: u64,
    ) {
        let m = self.owner;
        let minute = minute(now_ms);
        m.invocations.record(minute, 1);
        m.errors.record(minute, u64::from(failed));
        m.duration.record(minute, (duration_ms * 1000.0) as u64);
        if let Some(init) = init_duration_ms {
            m.init_duration.record(minute, (init * 1000.0) as u64);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.owner.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts metering an invocation (at `now_ms`) of a function whose metrics are attached.
pub fn start(metrics: &std::sync::OnceLock<LambdaMetrics>, now_ms: u64) -> Option<InFlight<'_>> {
    metrics.get().map(|m| m.start(now_ms))
}

/// The metrics minute of a time on the stack's clock, as [`Metrics::minute`] reads it: the
/// invocation already read the clock, and reading it again costs more than the rest.
fn minute(now_ms: u64) -> u64 {
    now_ms / 60_000
}
