//! One metric series at one-minute resolution for the last hour (plus the current minute),
//! recorded lock-free: a ring of minute slots of atomics, each reset when its minute comes
//! round again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::histogram::{Histogram, BUCKETS};

/// Minutes of history kept, plus the one being written.
pub const MINUTES: u64 = 61;

/// Whether a series keeps a histogram for percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Counts (Count, 4XXError as 0/1 per request, Invocations): no percentiles.
    Counter,
    /// Durations and sizes: also min, max and percentiles.
    Distribution,
}

struct Slot {
    minute: AtomicU64,
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    histogram: Option<Histogram>,
    reset: Mutex<()>,
}

/// A series of one metric with one set of dimensions.
pub struct Series {
    kind: Kind,
    slots: Box<[Slot]>,
    lifetime_count: AtomicU64,
    lifetime_sum: AtomicU64,
    emf: Option<super::emf::EmfTag>,
}

/// The statistics CloudWatch offers for a period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Sum of values.
    pub sum: u64,
    /// Number of samples.
    pub sample_count: u64,
    /// Smallest value (0 without samples).
    pub minimum: u64,
    /// Largest value.
    pub maximum: u64,
    /// 50th, 90th and 99th percentiles (distributions only; bucket lower bounds).
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
}

/// Sums statistics over slots and series.
pub struct Accumulator {
    stats: Stats,
    buckets: Option<Vec<u64>>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            stats: Stats {
                minimum: u64::MAX,
                ..Stats::default()
            },
            buckets: None,
        }
    }
}

impl Accumulator {
    /// The statistics of everything added.
    pub fn finish(mut self) -> Stats {
        if self.stats.minimum == u64::MAX {
            self.stats.minimum = 0;
        }
        if let Some(b) = &self.buckets {
            self.stats.p50 = super::histogram::percentile(b, 50.0);
            self.stats.p90 = super::histogram::percentile(b, 90.0);
            self.stats.p99 = super::histogram::percentile(b, 99.0);
        }
        self.stats
    }
}

impl Stats {
    /// Sum / SampleCount.
    pub fn average(&self) -> f64 {
        if self.sample_count == 0 {
            0.0
        } else {
            self.sum as f64 / self.sample_count as f64
        }
    }
}

impl Series {
    /// An empty series.
    pub fn new(kind: Kind) -> Self {
        let slots = (0..MINUTES)
            .map(|_| Slot {
                minute: AtomicU64::new(u64::MAX),
                count: AtomicU64::new(0),
                sum: AtomicU64::new(0),
                min: AtomicU64::new(u64::MAX),
                max: AtomicU64::new(0),
                histogram: (kind == Kind::Distribution).then(Histogram::default),
                reset: Mutex::new(()),
            })
            .collect();
        Series {
            kind,
            slots,
            lifetime_count: AtomicU64::new(0),
            lifetime_sum: AtomicU64::new(0),
            emf: None,
        }
    }

    /// The same series, also writing each sample as an EMF line.
    pub(super) fn with_emf(mut self, tag: Option<super::emf::EmfTag>) -> Self {
        self.emf = tag;
        self
    }

    /// Counter or distribution.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Records one sample in the minute `minute` (minutes since the Unix epoch).
    pub fn record(&self, minute: u64, value: u64) {
        let slot = &self.slots[(minute % MINUTES) as usize];
        if slot.minute.load(Ordering::Acquire) != minute {
            let _guard = slot.reset.lock().unwrap_or_else(|p| p.into_inner());
            // Re-checked under the lock: only the first recorder of a new minute clears it.
            if slot.minute.load(Ordering::Acquire) != minute {
                slot.count.store(0, Ordering::Relaxed);
                slot.sum.store(0, Ordering::Relaxed);
                slot.min.store(u64::MAX, Ordering::Relaxed);
                slot.max.store(0, Ordering::Relaxed);
                if let Some(h) = &slot.histogram {
                    h.clear();
                }
                slot.minute.store(minute, Ordering::Release);
            }
        }
        slot.count.fetch_add(1, Ordering::Relaxed);
        slot.sum.fetch_add(value, Ordering::Relaxed);
        // Read before writing: a new minimum or maximum is rare (never for the 0/1 counters),
        // and an atomic read-modify-write on a line both workers write costs far more than a
        // read. A stale read can only be further from the extreme, so the check is safe.
        if value < slot.min.load(Ordering::Relaxed) {
            slot.min.fetch_min(value, Ordering::Relaxed);
        }
        if value > slot.max.load(Ordering::Relaxed) {
            slot.max.fetch_max(value, Ordering::Relaxed);
        }
        if let Some(h) = &slot.histogram {
            h.record(value);
        }
        self.lifetime_count.fetch_add(1, Ordering::Relaxed);
        self.lifetime_sum.fetch_add(value, Ordering::Relaxed);
        if let Some(emf) = &self.emf {
            emf.emit(value);
        }
    }

    /// Statistics over the minutes `from..=to` that are still retained.
    pub fn stats(&self, from: u64, to: u64) -> Stats {
        let mut acc = Accumulator::default();
        self.accumulate(from, to, &mut acc);
        acc.finish()
    }

    /// Adds the minutes `from..=to` into `acc`, so several series can be aggregated.
    pub fn accumulate(&self, from: u64, to: u64, acc: &mut Accumulator) {
        for slot in self.slots.iter() {
            let minute = slot.minute.load(Ordering::Acquire);
            if minute == u64::MAX || minute < from || minute > to {
                continue;
            }
            acc.stats.sample_count += slot.count.load(Ordering::Relaxed);
            acc.stats.sum += slot.sum.load(Ordering::Relaxed);
            acc.stats.minimum = acc.stats.minimum.min(slot.min.load(Ordering::Relaxed));
            acc.stats.maximum = acc.stats.maximum.max(slot.max.load(Ordering::Relaxed));
            if let Some(h) = &slot.histogram {
                h.add_into(acc.buckets.get_or_insert_with(|| vec![0u64; BUCKETS]));
            }
        }
    }

    /// Per-minute statistics for each retained minute in `from..=to`, oldest first.
    pub fn minutes(&self, from: u64, to: u64) -> Vec<(u64, Stats)> {
        let mut minutes: Vec<u64> = self
            .slots
            .iter()
            .map(|s| s.minute.load(Ordering::Acquire))
            .filter(|m| *m != u64::MAX && *m >= from && *m <= to)
            .collect();
        minutes.sort_unstable();
        minutes.into_iter().map(|m| (m, self.stats(m, m))).collect()
    }

    /// Samples and their sum since the series was created (for Prometheus counters).
    pub fn lifetime(&self) -> (u64, u64) {
        (
            self.lifetime_count.load(Ordering::Relaxed),
            self.lifetime_sum.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_an_hour_and_aggregates_exactly() {
        let s = Series::new(Kind::Distribution);
        for v in [10, 20, 30] {
            s.record(100, v);
        }
        s.record(101, 5);
        let all = s.stats(100, 101);
        assert_eq!(
            (all.sum, all.sample_count, all.minimum, all.maximum),
            (65, 4, 5, 30)
        );
        assert_eq!(s.stats(101, 101).sample_count, 1);
        // 61 minutes later slot 100 is reused for minute 161 and minute 100 is gone.
        s.record(161, 7);
        assert_eq!(s.stats(100, 100).sample_count, 0);
        assert_eq!(s.stats(0, 200).sample_count, 2);
        assert_eq!(s.lifetime(), (5, 72));
        assert_eq!(s.minutes(0, 200).len(), 2);
    }

    #[test]
    fn counters_sum_increments() {
        let s = Series::new(Kind::Counter);
        for _ in 0..5 {
            s.record(7, 1);
        }
        let st = s.stats(7, 7);
        assert_eq!((st.sum, st.sample_count, st.p50), (5, 5, None));
    }
}
