//! CloudWatch-style metrics: series keyed by namespace, name and dimensions, one-minute
//! resolution for the last hour in bounded memory, read back as CloudWatch statistics or as
//! Prometheus text.
//!
//! Recorders resolve a [`Series`] handle once (at start-up, or on first use of a key) and then
//! record with atomics only.

pub mod emf;
mod histogram;
pub mod prometheus;
mod series;
mod stripe;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub use series::{Accumulator, Kind, Series, Stats, MINUTES};

use crate::Clock;

/// Identifies a series: `AWS/ApiGateway` `Count` `{ApiName=demo, Stage=$default}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// `AWS/ApiGateway`, `AWS/Lambda`, `AWS/States`, `Portico/UsagePlans`.
    pub namespace: &'static str,
    /// `Count`, `Latency`, `Invocations`, ...
    pub name: &'static str,
    /// Dimension names and values, sorted by name.
    pub dimensions: Vec<(&'static str, String)>,
}

/// Every series of the stack.
pub struct Metrics {
    clock: Clock,
    series: RwLock<BTreeMap<SeriesKey, Arc<Series>>>,
    emf: Option<Arc<emf::EmfSink>>,
}

impl Metrics {
    /// An empty registry reading time from `clock`.
    pub fn new(clock: Clock) -> Self {
        Metrics {
            clock,
            series: RwLock::new(BTreeMap::new()),
            emf: None,
        }
    }

    /// Also writes every sample as an Embedded Metric Format line to `sink`.
    pub fn with_emf(mut self, sink: Option<Arc<emf::EmfSink>>) -> Self {
        self.emf = sink;
        self
    }

    /// The series for a key, created on first use.
    pub fn series(
        &self,
        namespace: &'static str,
        name: &'static str,
        mut dimensions: Vec<(&'static str, String)>,
        kind: Kind,
    ) -> Arc<Series> {
        dimensions.sort();
        let key = SeriesKey {
            namespace,
            name,
            dimensions,
        };
        if let Some(s) = self
            .series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return s.clone();
        }
        let tag = self.emf.as_ref().map(|s| emf::EmfTag::new(s.clone(), &key));
        let mut all = self.series.write().unwrap_or_else(|p| p.into_inner());
        all.entry(key)
            .or_insert_with(|| Arc::new(Series::new(kind).with_emf(tag)))
            .clone()
    }

    /// The current minute (minutes since the Unix epoch) on the stack's clock.
    pub fn minute(&self) -> u64 {
        self.clock.now_millis() / 60_000
    }

    /// Records a sample now.
    pub fn record(&self, series: &Series, value: u64) {
        series.record(self.minute(), value);
    }

    /// Every series whose namespace and name match and whose dimensions include `filter`.
    pub fn find(
        &self,
        namespace: &str,
        name: &str,
        filter: &[(String, String)],
    ) -> Vec<(SeriesKey, Arc<Series>)> {
        let all = self.series.read().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .filter(|(k, _)| k.namespace == namespace && k.name == name)
            .filter(|(k, _)| {
                filter
                    .iter()
                    .all(|(n, v)| k.dimensions.iter().any(|(kn, kv)| kn == n && kv == v))
            })
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect()
    }

    /// A snapshot of every series.
    pub fn all(&self) -> Vec<(SeriesKey, Arc<Series>)> {
        let all = self.series.read().unwrap_or_else(|p| p.into_inner());
        all.iter().map(|(k, s)| (k.clone(), s.clone())).collect()
    }
}

/// Statistics over several series for the minutes `from..=to`, percentiles included.
pub fn merged_stats(series: &[Arc<Series>], from: u64, to: u64) -> Stats {
    let mut acc = Accumulator::default();
    for s in series {
        s.accumulate(from, to, &mut acc);
    }
    acc.finish()
}

/// Durations are recorded in microseconds and reported in milliseconds, CloudWatch's unit
/// for them; everything else is reported as recorded.
pub fn report_scale(name: &str) -> f64 {
    match name {
        "Latency" | "IntegrationLatency" | "Duration" | "InitDuration" | "ExecutionTime" => 1000.0,
        _ => 1.0,
    }
}
