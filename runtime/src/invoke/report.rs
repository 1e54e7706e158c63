//! The lines Lambda writes around every invocation (START, the handler's own lines, END,
//! REPORT), in text or in Lambda's JSON log format. Kept as a record; formatted when read.

use serde_json::json;

use crate::invoke::FunctionError;
use crate::observe::capture::CapturedLines;
use crate::observe::logs::LogRecord;
use crate::observe::{timefmt, LogFormat};

/// Everything one invocation's log says.
pub(crate) struct InvocationRecord {
    pub format: LogFormat,
    pub time_ms: u64,
    pub request_id: RecordId,
    pub version: &'static str,
    pub duration_ms: f64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u64,
    pub init_duration_ms: Option<f64>,
    pub timed_out_after: Option<f64>,
    pub error: Option<FunctionError>,
    pub captured: CapturedLines,
}

/// A request id as a record keeps it: inline for the UUIDs Portico mints (36 bytes), so the
/// record of every invocation holds no allocation of its own for it.
pub(crate) enum RecordId {
    Uuid([u8; 36]),
    Other(String),
}

impl RecordId {
    pub fn new(id: &str) -> Self {
        match <[u8; 36]>::try_from(id.as_bytes()) {
            Ok(bytes) => RecordId::Uuid(bytes),
            Err(_) => RecordId::Other(id.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Copied from a `&str` whole, so always UTF-8.
            RecordId::Uuid(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            RecordId::Other(id) => id,
        }
    }
}

impl LogRecord for InvocationRecord {
    fn lines(&self) -> Vec<String> {
        match self.format {
            LogFormat::Text => self.text_lines(),
            LogFormat::Json => self.json_lines(),
        }
    }
}

impl InvocationRecord {
    fn billed_ms(&self) -> u64 {
        self.duration_ms.ceil().max(1.0) as u64
    }

    fn text_lines(&self) -> Vec<String> {
        let time = timefmt::iso8601_millis(self.time_ms);
        let id = self.request_id.as_str();
        let mut lines = Vec::with_capacity(self.captured.len() + 4);
        lines.push(format!("START RequestId: {id} Version: {}", self.version));
        for line in &self.captured {
            lines.push(format!("{time}\t{id}\t{}\t{}", line.level, line.message));
        }
        if let Some(secs) = self.timed_out_after {
            lines.push(format!(
                "{time} {id} Task timed out after {secs:.2} seconds"
            ));
        }
        lines.push(format!("END RequestId: {id}"));
        let mut report = format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.duration_ms,
            self.billed_ms(),
            self.memory_mb,
            self.max_memory_used_mb
        );
        if let Some(init) = self.init_duration_ms {
            report.push_str(&format!("Init Duration: {init:.2} ms\t"));
        }
        lines.push(report);
        lines
    }

    fn json_lines(&self) -> Vec<String> {
        let time = timefmt::iso8601_millis(self.time_ms);
        let id = self.request_id.as_str();
        let mut lines = Vec::with_capacity(self.captured.len() + 2);
        lines.push(
            json!({"time": time, "type": "platform.start",
                   "record": {"requestId": id, "version": self.version}})
            .to_string(),
        );
        for line in &self.captured {
            lines.push(
                json!({"timestamp": time, "level": line.level, "message": line.message, "requestId": id})
                    .to_string(),
            );
        }
        let status = match (self.timed_out_after, &self.error) {
            (Some(_), _) => "timeout",
            (None, Some(_)) => "error",
            (None, None) => "success",
        };
        let mut metrics = json!({
            "durationMs": round2(self.duration_ms),
            "billedDurationMs": self.billed_ms(),
            "memorySizeMB": self.memory_mb,
            "maxMemoryUsedMB": self.max_memory_used_mb,
        });
        if let Some(init) = self.init_duration_ms {
            metrics["initDurationMs"] = json!(round2(init));
        }
        let mut record = json!({"requestId": id, "metrics": metrics, "status": status});
        if let Some(err) = &self.error {
            record["errorType"] = json!(err.error_type);
        }
        lines.push(json!({"time": time, "type": "platform.report", "record": record}).to_string());
        lines
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::RecordId;

    #[test]
    fn record_ids_read_back_as_given() {
        for id in [
            "8f5a3c1e-0b7d-4e2a-9c6f-1d2e3f4a5b6c",
            "short",
            "",
            "é-not-ascii-but-36-bytes-long-xxxxx",
        ] {
            assert_eq!(RecordId::new(id).as_str(), id);
        }
        assert!(matches!(
            RecordId::new("8f5a3c1e-0b7d-4e2a-9c6f-1d2e3f4a5b6c"),
            RecordId::Uuid(_)
        ));
    }
}
