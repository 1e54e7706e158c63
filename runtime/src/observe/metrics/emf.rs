//! CloudWatch Embedded Metric Format: with `[logs] emf` set, every sample a series records is
//! also written as one EMF JSON line (`_aws.Timestamp`, `_aws.CloudWatchMetrics` with the
//! namespace, dimension names and the metric's name and unit; the dimension values and the
//! value at the top level) to a log group or stdout.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{report_scale, SeriesKey};
use crate::observe::LogGroup;
use crate::Clock;

/// The group EMF lines are kept in when they go to stdout.
pub const STDOUT_GROUP: &str = "/portico/emf";

/// Where a stack's EMF lines go.
pub struct EmfSink {
    group: Arc<LogGroup>,
    stream: Arc<str>,
    clock: Clock,
}

impl EmfSink {
    /// Lines go to `group`, stamped with `clock`.
    pub fn new(group: Arc<LogGroup>, clock: Clock) -> Arc<Self> {
        Arc::new(EmfSink {
            group,
            stream: Arc::from("metrics"),
            clock,
        })
    }
}

/// One series' EMF line, all but the timestamp and the value prepared once.
pub(super) struct EmfTag {
    sink: Arc<EmfSink>,
    /// `,"CloudWatchMetrics":[...]},"Dim":"value",...,"Name":`
    middle: String,
    scale: f64,
}

impl EmfTag {
    pub(super) fn new(sink: Arc<EmfSink>, key: &SeriesKey) -> Self {
        let scale = report_scale(key.name);
        let unit = if scale == 1.0 {
            "Count"
        } else {
            "Milliseconds"
        };
        let names: Vec<&str> = key.dimensions.iter().map(|(n, _)| *n).collect();
        let metrics = json!([{
            "Namespace": key.namespace,
            "Dimensions": [names],
            "Metrics": [{"Name": key.name, "Unit": unit}],
        }]);
        let mut middle = format!(",\"CloudWatchMetrics\":{metrics}}}");
        for (name, value) in &key.dimensions {
            middle.push_str(&format!(
                ",{}:{}",
                Value::from(*name),
                Value::from(value.as_str())
            ));
        }
        middle.push_str(&format!(",{}:", Value::from(key.name)));
        EmfTag {
            sink,
            middle,
            scale,
        }
    }

    /// Writes one sample (durations are recorded in µs and written in ms, as CloudWatch's
    /// unit for them).
    pub(super) fn emit(&self, value: u64) {
        let now = self.sink.clock.now_millis();
        let shown = if self.scale == 1.0 {
            value.to_string()
        } else {
            Value::from(value as f64 / self.scale).to_string()
        };
        let line = format!("{{\"_aws\":{{\"Timestamp\":{now}{}{shown}}}", self.middle);
        self.sink.group.push_line(&self.sink.stream, now, line);
    }
}
