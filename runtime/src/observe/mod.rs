//! Observability: log groups, handler log capture, ids, access logs and resident memory.

pub mod access_format;
pub mod access_log;
pub mod capture;
pub mod execution_traces;
pub mod ids;
pub mod interned;
pub mod lambda_metrics;
pub mod logs;
mod memory;
pub mod metrics;
pub mod otlp;
pub mod striped_queue;
pub mod thread_stripe;
pub mod timefmt;
pub mod trace_states;
pub mod traces;
pub mod workflow_metrics;

pub use logs::{LogEvent, LogGroup, LogRecord, LogStore, StreamName};
pub use memory::max_memory_used_mb;

use serde::Deserialize;

/// The format of function logs, as Lambda's `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum LogFormat {
    /// Plain text lines (`START RequestId: ...`).
    #[default]
    Text,
    /// Lambda's JSON log format (`{"type":"platform.start",...}`).
    #[serde(rename = "JSON")]
    Json,
}
