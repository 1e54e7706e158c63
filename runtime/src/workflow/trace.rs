//! The X-Ray trace an execution runs under: the header DescribeExecution returns as
//! `traceHeader`, handed (with each state as `Parent=`) to every Task state's function, and,
//! when the gateway keeps timelines, where each state entered is recorded.

use std::sync::Arc;

use super::plan::{Kind, State};
use crate::observe::traces::StateTimeline;

/// The longest `traceHeader` StartExecution accepts (AWS's limit).
pub const MAX_TRACE_HEADER: usize = 256;

/// An execution's trace.
#[derive(Debug, Clone)]
pub struct ExecutionTrace {
    /// The `X-Amzn-Trace-Id` value the execution was started with.
    pub header: String,
    /// Where its states are recorded, when the request's timeline is kept.
    pub states: Option<Arc<StateTimeline>>,
}

impl ExecutionTrace {
    /// A trace that only passes its header on (no timeline is kept).
    pub fn header(header: impl Into<String>) -> Self {
        ExecutionTrace {
            header: header.into(),
            states: None,
        }
    }

    /// The header a state's function is handed: its `Parent=` is the state's span when the
    /// state is recorded, else the execution's header as given.
    pub fn for_state(&self, span: Option<u64>) -> String {
        match span {
            Some(span) => crate::observe::traces::with_parent(&self.header, span),
            None => self.header.clone(),
        }
    }
}

/// Checks a StartExecution `traceHeader` as AWS does (ASCII, at most 256 characters).
pub fn check_header(header: &str) -> Result<(), String> {
    if header.len() > MAX_TRACE_HEADER {
        return Err(format!("1 validation error detected: Value at 'traceHeader' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRACE_HEADER}"));
    }
    if !header.is_ascii() {
        return Err("1 validation error detected: Value at 'traceHeader' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*".into());
    }
    Ok(())
}

/// A state's type as ASL names it.
pub fn state_type(state: &State) -> &'static str {
    match state.kind {
        Kind::Pass { .. } => "Pass",
        Kind::Task { .. } => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait(_) => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map(_) => "Map",
    }
}
