//! `POST /metrics/query`: metric data in the shape of CloudWatch's GetMetricData.
//!
//! A query's dimensions filter the series (every series that has them is aggregated), so
//! `{ApiName=demo}` sums every stage and route of `demo`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::observe::metrics::{Metrics, Series, Stats};

/// The request body: CloudWatch's GetMetricData, JSON-encoded.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GetMetricData {
    metric_data_queries: Vec<Query>,
    /// Epoch seconds.
    start_time: f64,
    /// Epoch seconds.
    end_time: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Query {
    id: String,
    metric_stat: MetricStat,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStat {
    metric: Metric,
    period: u64,
    stat: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    namespace: String,
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Dimension {
    name: String,
    value: String,
}

/// Answers a GetMetricData request.
pub async fn handle(State(metrics): State<Arc<Metrics>>, body: axum::body::Bytes) -> Response {
    let request: GetMetricData = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(format!("invalid GetMetricData request: {e}")),
    };
    if request.end_time < request.start_time {
        return error("EndTime must be after StartTime".into());
    }
    let from = (request.start_time.max(0.0) as u64) / 60;
    let to = (request.end_time.max(0.0) as u64) / 60;
    let mut results = Vec::new();
    for q in &request.metric_data_queries {
        let period_minutes = q.metric_stat.period / 60;
        if period_minutes == 0 || q.metric_stat.period % 60 != 0 {
            return error(format!("query {}: Period must be a multiple of 60", q.id));
        }
        if !STATS.contains(&q.metric_stat.stat.as_str()) {
            return error(format!(
                "query {}: unknown Stat `{}` (use one of {})",
                q.id,
                q.metric_stat.stat,
                STATS.join(", ")
            ));
        }
        let filter: Vec<(String, String)> = q
            .metric_stat
            .metric
            .dimensions
            .iter()
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect();
        let series: Vec<Arc<Series>> = metrics
            .find(
                &q.metric_stat.metric.namespace,
                &q.metric_stat.metric.metric_name,
                &filter,
            )
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let mut timestamps = Vec::new();
        let mut values = Vec::new();
        let mut start = from - from % period_minutes;
        while start <= to {
            let end = start + period_minutes - 1;
            let stats = aggregate(&series, start, end);
            if stats.sample_count > 0 {
                timestamps.push(start * 60);
                let scale =
                    crate::observe::metrics::report_scale(&q.metric_stat.metric.metric_name);
                values.push(stat_value(&stats, &q.metric_stat.stat, scale));
            }
            start += period_minutes;
        }
        // CloudWatch lists the newest datapoint first.
        timestamps.reverse();
        values.reverse();
        results.push(json!({
            "Id": q.id,
            "Label": q.label.clone().unwrap_or_else(|| q.metric_stat.metric.metric_name.clone()),
            "Timestamps": timestamps,
            "Values": values,
            "StatusCode": "Complete",
        }));
    }
    Json(json!({"MetricDataResults": results, "Messages": []})).into_response()
}

const STATS: &[&str] = &[
    "Sum",
    "Average",
    "Minimum",
    "Maximum",
    "SampleCount",
    "p50",
    "p90",
    "p99",
];

/// Statistics over several series; percentiles come from their merged histograms.
pub fn aggregate(series: &[Arc<Series>], from: u64, to: u64) -> Stats {
    crate::observe::metrics::merged_stats(series, from, to)
}

fn stat_value(stats: &Stats, stat: &str, scale: f64) -> Value {
    let scaled = |v: u64| v as f64 / scale;
    match stat {
        "Sum" => json!(scaled(stats.sum)),
        "Average" => json!(stats.average() / scale),
        "Minimum" => json!(scaled(stats.minimum)),
        "Maximum" => json!(scaled(stats.maximum)),
        "SampleCount" => json!(stats.sample_count),
        "p50" => json!(stats.p50.map(scaled)),
        "p90" => json!(stats.p90.map(scaled)),
        _ => json!(stats.p99.map(scaled)),
    }
}

fn error(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("x-amzn-errortype", "InvalidParameterValue")],
        Json(json!({"message": message})),
    )
        .into_response()
}
