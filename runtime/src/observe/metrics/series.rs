//! One metric series at one-minute resolution for the last hour (plus the current minute):
//! a ring of minute slots of atomics, each reset when its minute comes round again, fed by
//! per-thread stripes of pending samples (see [`super::stripe`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::histogram::{Histogram, BUCKETS};
use super::stripe::{self, Pending, Stripe, STRIPES};

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
    stripes: Box<[Stripe; STRIPES]>,
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
            stripes: Box::default(),
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
        {
            let mut pending = self.stripes[stripe::current()].lock();
            if pending.minute != minute && pending.count > 0 {
                self.fold(&mut pending);
            }
            pending.add(minute, value, self.kind == Kind::Distribution);
        }
        if let Some(emf) = &self.emf {
            emf.emit(value);
        }
    }

    /// Moves a stripe's pending samples into the ring slot of their minute.
    fn fold(&self, pending: &mut Pending) {
        let minute = pending.minute;
        let slot = &self.slots[(minute % MINUTES) as usize];
        let current = slot.minute.load(Ordering::Acquire);
        if current != minute {
            let _guard = slot.reset.lock().unwrap_or_else(|p| p.into_inner());
            let current = slot.minute.load(Ordering::Acquire);
            // A slot already holding a later minute means these samples are over an hour
            // old: the ring no longer keeps their minute, so they are dropped.
            if current != u64::MAX && current > minute {
                pending.clear();
                return;
            }
            // Re-checked under the lock: only the first folder of a new minute clears it.
            if current != minute {
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
        slot.count.fetch_add(pending.count, Ordering::Relaxed);
        slot.sum.fetch_add(pending.sum, Ordering::Relaxed);
        slot.min.fetch_min(pending.min, Ordering::Relaxed);
        slot.max.fetch_max(pending.max, Ordering::Relaxed);
        if let (Some(h), Some(buckets)) = (&slot.histogram, &pending.buckets) {
            h.add_counts(buckets);
        }
        pending.clear();
    }

    /// Folds every stripe's pending samples, so a read sees everything recorded before it.
    fn fold_all(&self) {
        for stripe in self.stripes.iter() {
            let mut pending = stripe.lock();
            if pending.count > 0 {
                self.fold(&mut pending);
            }
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
        self.fold_all();
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
        self.fold_all();
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
        self.stripes.iter().fold((0, 0), |(count, sum), stripe| {
            let pending = stripe.lock();
            (count + pending.lifetime_count, sum + pending.lifetime_sum)
        })
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
    fn samples_of_many_threads_are_all_counted() {
        let s = std::sync::Arc::new(Series::new(Kind::Distribution));
        let threads: Vec<_> = (0..12u64)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for v in 1..=1_000 {
                        s.record(50, t * 1_000 + v);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let st = s.stats(50, 50);
        assert_eq!(
            (st.sample_count, st.minimum, st.maximum),
            (12_000, 1, 12_000)
        );
        assert_eq!(st.sum, (1..=12_000u64).sum::<u64>());
        assert_eq!(s.lifetime(), (12_000, st.sum));
        assert!(
            st.p50.is_some_and(|p| (5_600..=6_000).contains(&p)),
            "{st:?}"
        );
    }

    #[test]
    fn pending_samples_older_than_the_ring_are_dropped() {
        let s = std::sync::Arc::new(Series::new(Kind::Counter));
        // Another thread's stripe holds minute 100 while this one moves on to 161, which
        // reuses minute 100's slot: minute 100 is then out of the hour kept.
        let other = s.clone();
        std::thread::spawn(move || other.record(100, 1))
            .join()
            .unwrap();
        s.record(161, 1);
        s.record(162, 1);
        assert_eq!(s.stats(100, 100).sample_count, 0);
        assert_eq!(s.stats(161, 162).sample_count, 2);
        assert_eq!(s.lifetime(), (3, 3));
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
