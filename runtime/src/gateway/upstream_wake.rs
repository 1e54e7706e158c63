//! The waker an upstream connection is polled with, so that the request's task does not
//! wake itself.
//!
//! The connection and the response body talk through hyper's channels, whose every hand-off
//! wakes the other side; with both sides polled by one task, those wake-ups land on the task
//! while it runs and only schedule it again for a poll that finds nothing new. This waker
//! turns a wake-up that arrives while the task is polling the connection into "poll the
//! connection once more", and passes any other (the socket's, from the I/O driver) on to
//! the task. Hand-written: it is a dozen lines of atomics around `AtomicWaker`, and no crate
//! offers this shape.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A connection's wake-ups: the task using it, and whether it is being polled.
#[derive(Default)]
struct Shared {
    task: AtomicWaker,
    polling: AtomicBool,
    again: AtomicBool,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Noted first, so that a poll ending meanwhile sees it.
        self.again.store(true, SeqCst);
        if !self.polling.load(SeqCst) {
            self.task.wake();
        }
    }
}

/// The waker of one upstream connection.
pub(crate) struct ConnWaker {
    shared: Arc<Shared>,
    waker: Waker,
}

/// How often a connection is polled again for wake-ups it caused itself before the task is
/// woken instead (hyper's connection wakes itself when it yields after a long run).
const MAX_AGAIN: usize = 4;

impl ConnWaker {
    /// A waker not yet used by any task.
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared::default());
        let waker = Waker::from(Arc::clone(&shared));
        ConnWaker { shared, waker }
    }

    /// Starts a poll by the task of `cx`: wake-ups from now on are noted, not passed on.
    pub(crate) fn enter(&self, cx: &Context<'_>) {
        self.shared.task.register(cx.waker());
        self.shared.polling.store(true, SeqCst);
        // A drive follows, which sees whatever an earlier wake-up was about.
        self.shared.again.store(false, SeqCst);
    }

    /// The context to poll the connection with between `enter` and `leave`.
    pub(crate) fn context(&self) -> Context<'_> {
        Context::from_waker(&self.waker)
    }

    /// Runs `drive` once, and again while it (or anything since the last run) woke the
    /// connection, up to a bound.
    pub(crate) fn drive_while_woken(&self, mut drive: impl FnMut(&mut Context<'_>) -> bool) {
        let mut cx = self.context();
        for _ in 0..MAX_AGAIN {
            if !drive(&mut cx) || !self.shared.again.swap(false, SeqCst) {
                return;
            }
        }
        // Still waking itself: leave it noted, so `leave` wakes the task.
        self.shared.again.store(true, SeqCst);
    }

    /// Whether the connection was woken since the last check.
    pub(crate) fn woken(&self) -> bool {
        self.shared.again.swap(false, SeqCst)
    }

    /// Ends the poll: a wake-up noted but not acted on wakes the task of `cx`.
    pub(crate) fn leave(&self, cx: &Context<'_>) {
        self.shared.polling.store(false, SeqCst);
        if self.shared.again.swap(false, SeqCst) {
            cx.waker().wake_by_ref();
        }
    }

    /// Forgets the task that used the connection last (it goes back to the pool).
    pub(crate) fn forget_task(&self) {
        drop(self.shared.task.take());
    }
}
