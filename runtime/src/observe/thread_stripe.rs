//! Which stripe of a per-thread-striped structure (metric series, log groups) the current
//! thread writes to: threads are numbered in the order they first ask, so a runtime's worker
//! threads land on different stripes and never write each other's cache lines.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Stripes per striped structure; threads beyond this share stripes (still correct).
pub const STRIPES: usize = 8;

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

/// The current thread's stripe, in `0..STRIPES`.
pub fn current() -> usize {
    STRIPE.try_with(|s| *s).unwrap_or(0)
}
