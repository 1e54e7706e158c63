//! A fixed log-linear histogram of non-negative values: 16 sub-buckets per power of two, so
//! percentiles are exact to within 1/16 (≈6%) of the value, with constant memory.

use std::sync::atomic::{AtomicU32, Ordering};

/// Powers of two covered: values up to 2^40 (in the metric's unit, e.g. µs ≈ 12 days).
const MAGNITUDES: usize = 41;
const SUB: usize = 16;
/// Number of buckets.
pub const BUCKETS: usize = MAGNITUDES * SUB;

/// The bucket a value falls in.
pub fn bucket_of(value: u64) -> usize {
    if value < SUB as u64 {
        return value as usize;
    }
    let magnitude = 63 - value.leading_zeros() as usize; // floor(log2)
    let shift = magnitude - 4; // keep the top 5 bits: 1xxxx
    let sub = ((value >> shift) as usize) & (SUB - 1);
    ((magnitude - 3) * SUB + sub).min(BUCKETS - 1)
}

/// The smallest value of a bucket (what a percentile reports).
pub fn lower_bound(bucket: usize) -> u64 {
    if bucket < SUB {
        return bucket as u64;
    }
    let magnitude = bucket / SUB + 3;
    let sub = (bucket % SUB) as u64;
    (SUB as u64 + sub) << (magnitude - 4)
}

/// Bucket counts, updated with relaxed atomics.
pub struct Histogram {
    counts: Box<[AtomicU32]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

impl Histogram {
    /// Adds bucket counts gathered elsewhere (a stripe's pending samples).
    pub fn add_counts(&self, counts: &[u32]) {
        for (c, &n) in self.counts.iter().zip(counts) {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Forgets every value.
    pub fn clear(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds this histogram's counts into `into`.
    pub fn add_into(&self, into: &mut [u64]) {
        for (acc, c) in into.iter_mut().zip(self.counts.iter()) {
            *acc += u64::from(c.load(Ordering::Relaxed));
        }
    }
}

/// The `p`-th percentile (0..=100) of summed bucket counts, as a bucket's lower bound.
pub fn percentile(counts: &[u64], p: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    // Nearest-rank: the smallest value with at least p% of samples at or below it.
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(lower_bound(bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut last = 0;
        for v in [0u64, 1, 15, 16, 17, 31, 32, 100, 1_000, 65_535, 1 << 30] {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            last = b;
            let lo = lower_bound(b);
            assert!(lo <= v && v - lo <= v / 16, "{v} -> {lo}");
        }
    }

    #[test]
    fn percentiles_follow_nearest_rank() {
        let h = Histogram::default();
        let mut recorded = vec![0u32; BUCKETS];
        for v in 1..=100 {
            recorded[bucket_of(v)] += 1;
        }
        h.add_counts(&recorded);
        let mut counts = vec![0; BUCKETS];
        h.add_into(&mut counts);
        assert_eq!(percentile(&counts, 50.0), Some(lower_bound(bucket_of(50))));
        assert_eq!(
            percentile(&counts, 100.0),
            Some(lower_bound(bucket_of(100)))
        );
        assert_eq!(percentile(&[0; BUCKETS], 50.0), None);
    }
}
