//! The platform lines Lambda writes around every invocation (START, END, REPORT), in text or
//! in Lambda's JSON log format.

use serde_json::json;

use crate::observe::capture::CapturedLine;
use crate::observe::LogFormat;

/// The facts a REPORT line states.
pub(crate) struct Report<'a> {
    pub request_id: &'a str,
    pub version: &'a str,
    pub duration_ms: f64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u64,
    pub init_duration_ms: Option<f64>,
    pub timed_out_after: Option<f64>,
    pub error: Option<&'a crate::invoke::FunctionError>,
}

/// Builds every line of one invocation, in order.
pub(crate) fn invocation_lines(
    format: LogFormat,
    time: &str,
    report: &Report<'_>,
    captured: Vec<CapturedLine>,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(captured.len() + 4);
    let billed = report.duration_ms.ceil().max(1.0) as u64;
    match format {
        LogFormat::Text => {
            lines.push(format!(
                "START RequestId: {} Version: {}",
                report.request_id, report.version
            ));
            for line in captured {
                lines.push(format!(
                    "{time}\t{}\t{}\t{}",
                    report.request_id, line.level, line.message
                ));
            }
            if let Some(secs) = report.timed_out_after {
                lines.push(format!(
                    "{time} {} Task timed out after {secs:.2} seconds",
                    report.request_id
                ));
            }
            lines.push(format!("END RequestId: {}", report.request_id));
            let mut rep = format!(
                "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
                report.request_id, report.duration_ms, report.memory_mb, report.max_memory_used_mb
            );
            if let Some(init) = report.init_duration_ms {
                rep.push_str(&format!("Init Duration: {init:.2} ms\t"));
            }
            lines.push(rep);
        }
        LogFormat::Json => {
            lines.push(
                json!({"time": time, "type": "platform.start",
                       "record": {"requestId": report.request_id, "version": report.version}})
                .to_string(),
            );
            for line in captured {
                lines.push(
                    json!({"timestamp": time, "level": line.level, "message": line.message,
                           "requestId": report.request_id})
                    .to_string(),
                );
            }
            let status = match (report.timed_out_after, report.error) {
                (Some(_), _) => "timeout",
                (None, Some(_)) => "error",
                (None, None) => "success",
            };
            let mut metrics = json!({
                "durationMs": round2(report.duration_ms),
                "billedDurationMs": billed,
                "memorySizeMB": report.memory_mb,
                "maxMemoryUsedMB": report.max_memory_used_mb,
            });
            if let Some(init) = report.init_duration_ms {
                metrics["initDurationMs"] = json!(round2(init));
            }
            let mut record =
                json!({"requestId": report.request_id, "metrics": metrics, "status": status});
            if let Some(err) = report.error {
                record["errorType"] = json!(err.error_type);
            }
            lines.push(
                json!({"time": time, "type": "platform.report", "record": record}).to_string(),
            );
        }
    }
    lines
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
