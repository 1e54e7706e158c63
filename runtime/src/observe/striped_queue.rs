//! A bounded queue striped by writing thread, shared by the log groups and the trace store.
//!
//! Each thread appends to its own stripe, under a lock no other writer takes and on cache lines
//! of its own, so workers do not wait on one lock, write each other's cache lines, or free
//! items another thread allocated when the bound evicts them. A queue-wide sequence number
//! orders items across stripes; a read merges the stripes and sees the newest `bound` items,
//! exactly what one shared queue of that bound would hold. Memory holds up to `bound` items per
//! stripe.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::thread_stripe::{self, STRIPES};

/// One writing thread's items, on cache lines of its own.
#[repr(align(128))]
struct Stripe<T>(Mutex<VecDeque<(u64, T)>>);

impl<T> Stripe<T> {
    fn lock(&self) -> MutexGuard<'_, VecDeque<(u64, T)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The queue; see the module documentation.
pub struct StripedQueue<T> {
    stripes: Box<[Stripe<T>; STRIPES]>,
    next_seq: AtomicU64,
    bound: usize,
}

impl<T> StripedQueue<T> {
    /// An empty queue whose reads see the newest `bound` items.
    pub fn new(bound: usize) -> Self {
        StripedQueue {
            stripes: Box::new(std::array::from_fn(|_| Stripe(Mutex::new(VecDeque::new())))),
            next_seq: AtomicU64::new(0),
            bound,
        }
    }

    /// Appends `item` to this thread's stripe, evicting the stripe's oldest past the bound.
    pub fn push(&self, item: T) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut items = self.stripes[thread_stripe::current()].lock();
            let evicted = match items.len() >= self.bound {
                true => items.pop_front(),
                false => None,
            };
            items.push_back((seq, item));
            evicted
        };
        // Freed after the lock is released: a full queue evicts on every push, and freeing an
        // item inside the lock made every other writer of the stripe wait for it.
        drop(evicted);
    }

    /// Of the newest `bound` items, newest first, what `pick` makes of each one it picks,
    /// stopping after `limit`.
    pub fn newest<R>(&self, limit: usize, mut pick: impl FnMut(&T) -> Option<R>) -> Vec<R> {
        let guards: Vec<_> = self.stripes.iter().map(Stripe::lock).collect();
        let mut all: Vec<&(u64, T)> = guards.iter().flat_map(|g| g.iter()).collect();
        all.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        all.into_iter()
            .take(self.bound)
            .filter_map(|(_, item)| pick(item))
            .take(limit)
            .collect()
    }
}
