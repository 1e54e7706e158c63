//! Pipeline step 8, after the response is built: the request's trace, its metrics, the
//! stage's execution log and the access log.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use crate::cache::CacheStatus;
use crate::config::ExecutionLogLevel;
use crate::gateway::metrics::RouteMetrics;
use crate::gateway::stage_logs::{ExecutionRecord, StageLogs};
use crate::observe::access_log::AccessRecord;
use crate::observe::traces::TraceBuilder;
use crate::stack::StackInner;

/// What the records say about one finished request.
pub(super) struct Summary<'a> {
    /// How long the request took, read once for the metrics and the access log.
    pub(super) elapsed: Duration,
    /// The same, in epoch milliseconds.
    pub(super) time_epoch_ms: u64,
    /// The response's status.
    pub(super) status: u16,
    /// The response body's length, when known.
    pub(super) response_length: u64,
    /// The matched route key, `-` for none.
    pub(super) route_key: &'static str,
    /// The matched resource, `-` for none.
    pub(super) resource_path: &'static str,
    /// The integration's latency.
    pub(super) integration_us: Option<u64>,
    /// Hit, miss, … when the route went through its stage's cache.
    pub(super) cache_status: Option<CacheStatus>,
    /// The gateway error's detail.
    pub(super) error_message: Option<String>,
    /// The gateway error's `x-amzn-errortype`.
    pub(super) error_type: Option<&'static str>,
    /// The stage's logs, when the request reached a stage.
    pub(super) stage_logs: Option<&'a StageLogs>,
}

/// Keeps the request's trace (and hands it to the OTLP exporter).
pub(super) fn trace(
    stack: &StackInner,
    trace: TraceBuilder,
    ids: (&str, &str),
    summary: &Summary<'_>,
    parts: &Parts,
) {
    let (trace_id, request_id) = ids;
    let finished = trace.finish(
        trace_id.to_owned(),
        request_id.to_owned(),
        summary.time_epoch_ms,
        format!("{} {}", parts.method, parts.uri.path()),
        summary.status,
    );
    if let Some(exporter) = &stack.otlp {
        exporter.submit(finished.clone());
    }
    stack.traces.push(finished);
}

/// Counts the request in its route's metrics.
pub(super) fn metrics(stack: &StackInner, metrics: &RouteMetrics, summary: &Summary<'_>) {
    let latency_us = summary.elapsed.as_micros() as u64;
    let minute = summary.time_epoch_ms / 60_000;
    if let Some(status) = summary.cache_status {
        metrics.record_cache(&stack.metrics, minute, status);
    }
    metrics.record(minute, summary.status, latency_us, summary.integration_us);
}

/// Writes the stage's execution log line, when its level asks for this request.
pub(super) fn execution(
    stack: &StackInner,
    summary: &Summary<'_>,
    request_id: &str,
    parts: &Parts,
) {
    let Some((level, group)) = summary.stage_logs.and_then(|l| l.execution.as_ref()) else {
        return;
    };
    if *level == ExecutionLogLevel::Info || summary.error_message.is_some() {
        let record = ExecutionRecord {
            request_id: request_id.to_owned(),
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            route_key: summary.route_key.to_string(),
            status: summary.status,
            integration_ms: summary.integration_us.map(|us| us / 1000),
            error: summary.error_message.clone(),
        };
        group.push_record(stack.access_stream, summary.time_epoch_ms, Arc::new(record));
    }
}

/// Writes the access log line: to the stage's own access log when it has one, else to the
/// stack's.
pub(super) fn access(
    stack: &StackInner,
    summary: Summary<'_>,
    ids: (String, String),
    ip: IpAddr,
    parts: &Parts,
) {
    let (trace_id, request_id) = ids;
    let stage_logs = summary.stage_logs;
    let (format, group) = match stage_logs.and_then(|l| l.access.as_ref()) {
        Some((format, group)) => (Some(format.clone()), group),
        None => (None, &stack.access_log),
    };
    let record = AccessRecord {
        route_key: summary.route_key,
        request_id,
        ip,
        time_ms: summary.time_epoch_ms,
        status: summary.status,
        protocol: "HTTP/1.1",
        response_length: summary.response_length,
        response_latency_ms: summary.elapsed.as_millis() as u64,
        error_message: summary.error_message,
        cache_status: summary
            .cache_status
            .map(crate::gateway::caching::status_text),
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        resource_path: summary.resource_path,
        path: parts.uri.path().to_owned(),
        integration_latency_ms: summary.integration_us.map(|us| us / 1000),
        error_type: summary.error_type,
        stage: stage_logs.map(|l| l.stage),
        api_id: stage_logs.map(|l| l.api_id),
        trace_id,
        format,
        http_method: parts.method.clone(),
    };
    group.push_record(stack.access_stream, summary.time_epoch_ms, Arc::new(record));
}
