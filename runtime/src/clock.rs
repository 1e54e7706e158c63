//! The one source of time for every mechanism: quotas, TTLs, timeouts, Wait states.
//!
//! Production uses [`Clock::system`]; tests use [`Clock::manual`] and call
//! [`Clock::advance`] instead of sleeping, so time-dependent behaviour is deterministic.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

/// A cheaply clonable handle to wall-clock time and sleeping.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

enum Inner {
    System,
    Manual(Mutex<ManualState>),
}

struct ManualState {
    now: SystemTime,
    /// Wake instant, waker, and whether [`Clock::sleepers`] counts it.
    sleepers: Vec<(SystemTime, oneshot::Sender<()>, bool)>,
}

/// Returned by [`Clock::timeout`] when the deadline passes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Clock {
    /// The real clock: `SystemTime::now()` and tokio timers.
    pub fn system() -> Self {
        Clock {
            inner: Arc::new(Inner::System),
        }
    }

    /// A clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: SystemTime) -> Self {
        Clock {
            inner: Arc::new(Inner::Manual(Mutex::new(ManualState {
                now: start,
                sleepers: Vec::new(),
            }))),
        }
    }

    /// Whether this clock only moves when told to.
    pub fn is_manual(&self) -> bool {
        matches!(*self.inner, Inner::Manual(_))
    }

    /// The current wall-clock time.
    pub fn now(&self) -> SystemTime {
        match &*self.inner {
            Inner::System => SystemTime::now(),
            Inner::Manual(state) => lock(state).now,
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// Waits until `duration` has passed on this clock.
    pub async fn sleep(&self, duration: Duration) {
        self.sleep_counted(duration, true).await
    }

    /// Like [`Clock::sleep`], but not counted by [`Clock::sleepers`]: for housekeeping loops
    /// (a connection sweeper) that tests waiting for a request's own sleepers must not see.
    pub async fn sleep_in_background(&self, duration: Duration) {
        self.sleep_counted(duration, false).await
    }

    async fn sleep_counted(&self, duration: Duration, counted: bool) {
        match &*self.inner {
            Inner::System => tokio::time::sleep(duration).await,
            Inner::Manual(state) => {
                let rx = {
                    let mut state = lock(state);
                    if duration.is_zero() {
                        return;
                    }
                    let (tx, rx) = oneshot::channel();
                    let wake_at = state.now + duration;
                    state.sleepers.push((wake_at, tx, counted));
                    rx
                };
                // A dropped clock never wakes its sleepers; they wait forever like a stopped clock.
                if rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// Waits until the clock reads `deadline` (returns at once if it already has).
    pub async fn sleep_until(&self, deadline: SystemTime) {
        let remaining = deadline
            .duration_since(self.now())
            .unwrap_or(Duration::ZERO);
        self.sleep(remaining).await
    }

    /// Runs `future` but gives up when `duration` passes on this clock.
    pub async fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        match &*self.inner {
            Inner::System => tokio::time::timeout(duration, future)
                .await
                .map_err(|_| Elapsed),
            Inner::Manual(_) => {
                tokio::select! {
                    biased;
                    out = future => Ok(out),
                    _ = self.sleep(duration) => Err(Elapsed),
                }
            }
        }
    }

    /// Moves a manual clock forward and wakes every sleeper whose time has come.
    ///
    /// # Panics
    /// On the system clock, which cannot be moved.
    pub fn advance(&self, by: Duration) {
        let Inner::Manual(state) = &*self.inner else {
            panic!("Clock::advance called on the system clock");
        };
        let due = {
            let mut state = lock(state);
            state.now += by;
            let now = state.now;
            let (due, waiting): (Vec<_>, Vec<_>) =
                state.sleepers.drain(..).partition(|(at, _, _)| *at <= now);
            state.sleepers = waiting;
            due
        };
        for (_, tx, _) in due {
            let _ = tx.send(());
        }
    }

    /// How many tasks are sleeping on a manual clock (0 on the system clock).
    ///
    /// Tests use it to wait until a sleeper has registered before advancing.
    pub fn sleepers(&self) -> usize {
        match &*self.inner {
            Inner::System => 0,
            Inner::Manual(state) => lock(state)
                .sleepers
                .iter()
                .filter(|(_, tx, counted)| *counted && !tx.is_closed())
                .count(),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Inner::System => f.write_str("Clock::system"),
            Inner::Manual(_) => write!(f, "Clock::manual({:?})", self.now()),
        }
    }
}

fn lock(state: &Mutex<ManualState>) -> std::sync::MutexGuard<'_, ManualState> {
    // The state is a plain value and stays consistent even if a holder panicked.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_wakes_only_after_advance() {
        let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_000));
        let c = clock.clone();
        let sleeper = tokio::spawn(async move { c.sleep(Duration::from_secs(5)).await });
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        clock.advance(Duration::from_secs(4));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now_millis(), 1_005_000);
    }

    #[tokio::test]
    async fn manual_timeout_fires_on_advance() {
        let clock = Clock::manual(UNIX_EPOCH);
        let c = clock.clone();
        let task = tokio::spawn(async move {
            c.timeout(Duration::from_secs(3), std::future::pending::<()>())
                .await
        });
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        clock.advance(Duration::from_secs(3));
        assert_eq!(task.await.unwrap(), Err(Elapsed));
    }
}
