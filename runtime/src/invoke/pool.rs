//! The warm instances of one function version: a briefly locked stack (the most recently
//! used instance serves next, as Lambda does), with idle instances evicted after the idle
//! timeout — whenever the pool is touched, and, for instances that hold a process, by a
//! reaper task sleeping on the clock so idle processes are stopped even without traffic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, UNIX_EPOCH};

use super::instance::Instance;
use crate::Clock;

/// Warm instances of one function version.
pub(crate) struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    warm: Mutex<Vec<Instance>>,
    idle_timeout: Duration,
    clock: Clock,
    reaper_running: AtomicBool,
}

impl Pool {
    pub(crate) fn new(idle_timeout: Duration, clock: Clock) -> Self {
        Pool {
            inner: Arc::new(PoolInner {
                warm: Mutex::new(Vec::new()),
                idle_timeout,
                clock,
                reaper_running: AtomicBool::new(false),
            }),
        }
    }

    /// The most recently used warm instance at `now` (ms on the pool's clock), dropping any
    /// that idled out.
    pub(crate) fn take(&self, now: u64) -> Option<Instance> {
        let mut expired = Vec::new();
        let found = {
            let mut warm = self.inner.lock();
            loop {
                match warm.pop() {
                    Some(i) if self.inner.is_expired(&i, now) => expired.push(i),
                    other => break other,
                }
            }
        };
        // Dropping an instance may stop a process; do it outside the lock.
        drop(expired);
        found
    }

    /// Returns an instance after an invocation ending at `now` (ms on the pool's clock), warm
    /// for the next one.
    pub(crate) fn put(&self, mut instance: Instance, now: u64) {
        instance.last_used_ms = now;
        // In-process instances are evicted lazily; only processes need a reaper to stop them.
        let reap = !instance.provisioned && instance.external;
        let expired = {
            let mut warm = self.inner.lock();
            warm.push(instance);
            self.inner.drain_expired(&mut warm, now)
        };
        drop(expired);
        if reap {
            self.ensure_reaper();
        }
    }

    /// How many instances are warm now (idled-out ones are evicted first).
    pub(crate) fn warm(&self) -> usize {
        let now = self.inner.clock.now_millis();
        let (count, expired) = {
            let mut warm = self.inner.lock();
            let expired = self.inner.drain_expired(&mut warm, now);
            (warm.len(), expired)
        };
        drop(expired);
        count
    }

    fn ensure_reaper(&self) {
        if self.inner.reaper_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.reaper_running.store(false, Ordering::Release);
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.clock.clone();
        runtime.spawn(reap(weak, clock));
    }
}

/// Sleeps until the oldest idle instance expires, evicts, and repeats until none is left.
async fn reap(pool: Weak<PoolInner>, clock: Clock) {
    loop {
        let next = {
            let Some(inner) = pool.upgrade() else { return };
            match inner.next_expiry() {
                Some(at) => at,
                None => {
                    inner.reaper_running.store(false, Ordering::Release);
                    // An instance put back meanwhile saw the flag set and spawned nothing.
                    if inner.next_expiry().is_some()
                        && !inner.reaper_running.swap(true, Ordering::AcqRel)
                    {
                        continue;
                    }
                    return;
                }
            }
        };
        clock
            .sleep_until(UNIX_EPOCH + Duration::from_millis(next))
            .await;
        let Some(inner) = pool.upgrade() else { return };
        let now = clock.now_millis();
        let evicted = {
            let mut warm = inner.lock();
            inner.drain_expired(&mut warm, now)
        };
        drop(evicted);
    }
}

impl PoolInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        // The list stays consistent even if a holder panicked.
        self.warm.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes idled-out instances; the caller drops them after releasing the lock.
    fn drain_expired(&self, warm: &mut Vec<Instance>, now_ms: u64) -> Vec<Instance> {
        if !warm.iter().any(|i| self.is_expired(i, now_ms)) {
            return Vec::new();
        }
        let (gone, kept): (Vec<_>, Vec<_>) =
            warm.drain(..).partition(|i| self.is_expired(i, now_ms));
        *warm = kept;
        gone
    }

    fn is_expired(&self, instance: &Instance, now_ms: u64) -> bool {
        !instance.provisioned
            && instance.last_used_ms + self.idle_timeout.as_millis() as u64 <= now_ms
    }

    fn next_expiry(&self) -> Option<u64> {
        let idle = self.idle_timeout.as_millis() as u64;
        self.lock()
            .iter()
            .filter(|i| !i.provisioned && i.external)
            .map(|i| i.last_used_ms + idle)
            .min()
    }
}
