//! Closes connections that take too long to send a request head (slowloris), without a
//! timer per request.
//!
//! hyper's own `header_read_timeout` arms a fresh timer for every request head it reads; on a
//! keep-alive connection serving tens of thousands of requests a second that timer is a
//! measurable share of the gateway's cost. Here each connection instead records, in two
//! atomics, when the bytes of its next request head started to arrive and whether a request is
//! in service; one sweeper task per listener checks every connection once a second on the
//! [`Clock`] and closes those whose head has been arriving for longer than the limit.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::Clock;

/// How often the sweeper looks at every open connection.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// No head is being read.
const IDLE: u64 = 0;

/// One connection's progress, shared by its reader, its service and the sweeper.
#[derive(Default)]
pub(crate) struct Progress {
    /// Epoch milliseconds at which the first byte of the pending head arrived, or [`IDLE`].
    head_started_ms: AtomicU64,
    /// Whether a request is being served (its body bytes are not head bytes).
    in_service: AtomicBool,
    /// Set at shutdown: a wake on `close` then means "finish in-flight requests and close".
    draining: AtomicBool,
    /// Woken by the sweeper to close the connection, or at shutdown to drain it.
    close: Notify,
}

impl Progress {
    /// Marks the start of a request: its head is complete.
    pub(crate) fn request_started(&self) {
        self.in_service.store(true, Ordering::Relaxed);
        self.head_started_ms.store(IDLE, Ordering::Relaxed);
    }

    /// Marks the end of a request's service; the next bytes read start a new head.
    pub(crate) fn request_finished(&self) {
        self.in_service.store(false, Ordering::Relaxed);
    }

    /// Resolves when the sweeper decides this connection must close, or when the server
    /// starts draining (see [`Progress::draining`]).
    pub(crate) async fn closed(&self) {
        self.close.notified().await
    }

    /// Whether the server is shutting down: the connection finishes its requests and closes.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    fn bytes_arrived(&self, clock: &Clock) {
        if !self.in_service.load(Ordering::Relaxed)
            && self.head_started_ms.load(Ordering::Relaxed) == IDLE
        {
            self.head_started_ms
                .store(clock.now_millis().max(1), Ordering::Relaxed);
        }
    }

    fn overdue(&self, now_ms: u64, limit_ms: u64) -> bool {
        let started = self.head_started_ms.load(Ordering::Relaxed);
        started != IDLE
            && !self.in_service.load(Ordering::Relaxed)
            && now_ms.saturating_sub(started) > limit_ms
    }
}

/// Every open connection of one listener, and the limit on reading a head.
pub(crate) struct Watchdog {
    clock: Clock,
    limit: Duration,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Weak<Progress>>>,
    /// Woken when the last open connection is forgotten.
    all_closed: Notify,
}

impl Watchdog {
    /// A watchdog closing connections whose head takes longer than `limit`; its sweeper runs
    /// until the returned handle is dropped.
    pub(crate) fn start(clock: Clock, limit: Duration) -> (Arc<Watchdog>, SweeperGuard) {
        let watchdog = Arc::new(Watchdog {
            clock,
            limit,
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            all_closed: Notify::new(),
        });
        let sweeper = tokio::spawn(sweep(Arc::downgrade(&watchdog)));
        (watchdog, SweeperGuard(sweeper))
    }

    /// Registers a connection; it is forgotten when the returned [`Registration`] drops.
    pub(crate) fn register(self: &Arc<Self>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let progress = Arc::new(Progress::default());
        self.lock().insert(id, Arc::downgrade(&progress));
        Registration {
            watchdog: self.clone(),
            id,
            progress,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Weak<Progress>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a graceful shutdown: every open connection finishes the request it is serving
    /// (if any) and closes. One wake per connection, instead of a shutdown signal every
    /// connection polls on every wake-up.
    pub(crate) fn begin_drain(&self) {
        let open: Vec<Arc<Progress>> = self.lock().values().filter_map(Weak::upgrade).collect();
        for progress in &open {
            progress.draining.store(true, Ordering::Relaxed);
            progress.close.notify_one();
        }
    }

    /// Resolves once every registered connection is gone.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a close right after it still wakes us.
            notified.as_mut().enable();
            if self.lock().is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Closes every overdue connection; returns how many.
    fn sweep_once(&self) -> usize {
        let now = self.clock.now_millis();
        let limit = self.limit.as_millis() as u64;
        let overdue: Vec<Arc<Progress>> = self
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .filter(|p| p.overdue(now, limit))
            .collect();
        for progress in &overdue {
            progress.close.notify_one();
        }
        overdue.len()
    }
}

async fn sweep(watchdog: Weak<Watchdog>) {
    loop {
        let Some(clock) = watchdog.upgrade().map(|w| w.clock.clone()) else {
            return;
        };
        clock.sleep_in_background(SWEEP_EVERY).await;
        let Some(watchdog) = watchdog.upgrade() else {
            return;
        };
        let closed = watchdog.sweep_once();
        if closed > 0 {
            tracing::debug!(
                closed,
                "closed connections that were too slow to send a request head"
            );
        }
    }
}

/// Stops the sweeper when dropped.
pub(crate) struct SweeperGuard(tokio::task::JoinHandle<()>);

impl Drop for SweeperGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connection's entry in the [`Watchdog`]; removes it on drop.
pub(crate) struct Registration {
    watchdog: Arc<Watchdog>,
    id: u64,
    progress: Arc<Progress>,
}

impl Registration {
    /// The connection's shared progress.
    pub(crate) fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Wraps the connection's socket so arriving bytes are noticed.
    pub(crate) fn watch<T>(&self, io: T) -> WatchedIo<T> {
        WatchedIo {
            inner: io,
            progress: self.progress.clone(),
            clock: self.watchdog.clock.clone(),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.watchdog.lock();
        open.remove(&self.id);
        if open.is_empty() {
            self.watchdog.all_closed.notify_waiters();
        }
    }
}

/// A socket that tells its [`Progress`] when request bytes arrive.
pub(crate) struct WatchedIo<T> {
    inner: T,
    progress: Arc<Progress>,
    clock: Clock,
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.progress.bytes_arrived(&this.clock);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_head_in_progress_for_too_long_is_overdue() {
        let progress = Progress::default();
        assert!(
            !progress.overdue(100_000, 30_000),
            "idle connections stay open"
        );
        progress.head_started_ms.store(50_000, Ordering::Relaxed);
        assert!(!progress.overdue(80_000, 30_000));
        assert!(progress.overdue(80_001, 30_000));
        progress.request_started();
        assert!(
            !progress.overdue(200_000, 30_000),
            "a request in service is not a slow head"
        );
        progress.request_finished();
        assert!(
            !progress.overdue(200_000, 30_000),
            "no bytes yet for the next head"
        );
    }

    #[tokio::test]
    async fn body_bytes_read_in_service_do_not_start_a_head() {
        let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_000));
        let progress = Progress::default();
        progress.request_started();
        progress.bytes_arrived(&clock);
        assert_eq!(progress.head_started_ms.load(Ordering::Relaxed), IDLE);
        progress.request_finished();
        progress.bytes_arrived(&clock);
        assert_eq!(progress.head_started_ms.load(Ordering::Relaxed), 1_000_000);
    }
}
