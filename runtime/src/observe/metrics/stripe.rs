//! A series' samples not yet folded into its shared minute ring, one stripe per recording
//! thread.
//!
//! Every request records a dozen series. With one set of atomics per minute, every worker
//! thread did several locked read-modify-writes per series on cache lines the other workers
//! also wrote, so each sample cost cache-line transfers between cores. A thread instead adds
//! to its own stripe, under a lock no other recorder takes (threads are spread over the
//! stripes), with plain arithmetic; the stripe is folded into the ring when its minute ends
//! or when someone reads the series, so reads stay exact.

use std::sync::{Mutex, MutexGuard};

use super::histogram::{bucket_of, BUCKETS};
pub(super) use crate::observe::thread_stripe::{current, STRIPES};

/// One stripe, on cache lines of its own so two stripes never share one.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Stripe(Mutex<Pending>);

impl Stripe {
    pub(super) fn lock(&self) -> MutexGuard<'_, Pending> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The samples a stripe holds for one minute, plus its share of the lifetime totals.
pub(super) struct Pending {
    /// The minute the pending samples belong to.
    pub minute: u64,
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    /// Bucket counts of a distribution's pending samples, allocated on its first sample.
    pub buckets: Option<Box<[u32]>>,
    /// Samples and sum this stripe has recorded since the series was created.
    pub lifetime_count: u64,
    pub lifetime_sum: u64,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            minute: u64::MAX,
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
            buckets: None,
            lifetime_count: 0,
            lifetime_sum: 0,
        }
    }
}

impl Pending {
    /// Adds one sample of `minute`; the caller has folded samples of another minute first.
    pub(super) fn add(&mut self, minute: u64, value: u64, distribution: bool) {
        self.minute = minute;
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.lifetime_count += 1;
        self.lifetime_sum += value;
        if distribution {
            let buckets = self
                .buckets
                .get_or_insert_with(|| vec![0u32; BUCKETS].into_boxed_slice());
            buckets[bucket_of(value)] += 1;
        }
    }

    /// Forgets the pending samples (after they were folded), keeping the lifetime totals.
    pub(super) fn clear(&mut self) {
        self.count = 0;
        self.sum = 0;
        self.min = u64::MAX;
        self.max = 0;
        if let Some(buckets) = &mut self.buckets {
            buckets.fill(0);
        }
    }
}
