//! Timelines of executions started through the Step Functions API (`StartExecution`,
//! `StartSyncExecution`): no request timeline holds them, so when timelines are on each gets
//! one of its own when it ends — an `execution` segment, its states under it — kept for the
//! admin API's `/traces` like a request's and, with a collector, exported over OTLP, joining
//! the caller's X-Ray trace when the start request named one. An execution that did not
//! succeed says so: its `execution` segment's detail is its error and cause, as a failed
//! state's is, and its OTLP span has status ERROR with that message.

use std::borrow::Cow;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::ids;
use super::otlp::encode::otlp_trace_id;
use super::otlp::LaterExport;
use super::trace_states::{parent_of, ExecutionEnd, OnEnd, StateTimeline};
use super::traces::{Segment, Trace, TraceStore};

/// The name of an API-started execution's own segment (and span).
pub const EXECUTION_SPAN: &str = "execution";

/// The status a start request answered with: a start that was refused started nothing.
const STARTED: u16 = 200;

/// The start request of an execution.
#[derive(Debug)]
pub struct StartRequest<'a> {
    /// The caller's trace header, if any.
    pub trace_header: Option<&'a str>,
    /// When the request arrived, ms since the epoch.
    pub start_ms: u64,
    /// `StartExecution` or `StartSyncExecution`.
    pub operation: &'static str,
    /// The request id the API answered with (`x-amzn-RequestId`).
    pub request_id: String,
}

/// Where an execution's timeline goes when it ends.
pub struct Sinks {
    /// The stack's recent timelines (held weakly: a stack that is gone keeps nothing more).
    pub store: Weak<TraceStore>,
    /// The OTLP export, when a collector is configured.
    pub export: Option<LaterExport>,
}

/// The trace an API-started execution runs under.
#[derive(Debug)]
pub struct ExecutionTimeline {
    /// The X-Ray header the execution runs under: the caller's as given, or a new one.
    pub header: String,
    /// Where the execution records its states; they go to the sinks when it ends.
    pub states: Arc<StateTimeline>,
}

/// Prepares the timeline of an execution started by `start`.
///
/// A header whose `Root=` is not an X-Ray trace id cannot be joined: the execution keeps it
/// (DescribeExecution shows what was passed) but its timeline gets a new trace id. AWS
/// accepts any ASCII header up to 256 characters and X-Ray starts a new trace for one it
/// cannot read; the stack does the same.
pub fn trace_execution(start: StartRequest<'_>, sinks: Sinks) -> ExecutionTimeline {
    let joined = start.trace_header.filter(|h| otlp_trace_id(h).is_some());
    let new_header = || format!("{};Sampled=1", ids::trace_id(start.start_ms / 1000));
    let trace_id = joined.map_or_else(new_header, str::to_owned);
    let header = start
        .trace_header
        .map_or_else(|| trace_id.clone(), str::to_owned);
    let span = ids::span_id();
    let arrived = Instant::now();
    let states = StateTimeline::new(arrived, span);
    let execution = ExecutionSpan {
        trace_id,
        request_id: start.request_id,
        operation: start.operation,
        start_ms: start.start_ms,
        arrived,
        span,
        parent: joined.and_then(parent_of),
    };
    // A new timeline has not ended: the hand-off is always taken.
    states.defer_until_end(on_end(execution, sinks));
    ExecutionTimeline { header, states }
}

/// What keeps and exports the execution's timeline once it ends.
fn on_end(execution: ExecutionSpan, sinks: Sinks) -> OnEnd {
    Box::new(move |ended: &ExecutionEnd, states: Vec<Segment>| {
        let trace = execution.trace(ended, states);
        // Kept before it is exported: whoever sees the export finds it in `/traces`.
        if let Some(store) = sinks.store.upgrade() {
            store.push(trace.clone());
        }
        if let Some(export) = &sinks.export {
            export.submit(trace);
        }
    })
}

/// What the execution's own segment is made of.
struct ExecutionSpan {
    trace_id: String,
    request_id: String,
    operation: &'static str,
    start_ms: u64,
    arrived: Instant,
    span: u64,
    parent: Option<u64>,
}

impl ExecutionSpan {
    /// The finished timeline: the execution's segment from its start until now, then its
    /// states.
    fn trace(self, ended: &ExecutionEnd, states: Vec<Segment>) -> Trace {
        let mut segments = Vec::with_capacity(states.len() + 1);
        segments.push(Segment {
            name: Cow::Borrowed(EXECUTION_SPAN),
            state_type: None,
            span_id: self.span,
            parent_span: self.parent,
            start_us: 0,
            duration_us: self.arrived.elapsed().as_micros() as u64,
            detail: ended.error_message(),
        });
        segments.extend(states);
        Trace {
            trace_id: self.trace_id,
            request_id: self.request_id,
            start_ms: self.start_ms,
            request: self.operation.to_owned(),
            status: STARTED,
            segments,
            states: None,
            execution: Some(ended.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn start(trace_header: Option<&str>, start_ms: u64) -> ExecutionTimeline {
        let request = StartRequest {
            trace_header,
            start_ms,
            operation: "StartExecution",
            request_id: "r".into(),
        };
        let sinks = Sinks {
            store: Weak::new(),
            export: None,
        };
        trace_execution(request, sinks)
    }

    #[test]
    fn the_callers_header_is_kept_and_a_missing_one_created() {
        let joined = start(Some(HEADER), 0);
        assert_eq!(joined.header, HEADER);
        let ended = ExecutionEnd {
            arn: "arn:x".into(),
            status: "FAILED",
            error: Some("Oops".into()),
            cause: None,
        };
        let trace = ExecutionSpan {
            trace_id: HEADER.into(),
            request_id: "r".into(),
            operation: "StartExecution",
            start_ms: 0,
            arrived: Instant::now(),
            span: 7,
            parent: parent_of(HEADER),
        }
        .trace(&ended, Vec::new());
        assert_eq!(trace.segments[0].parent_span, Some(0x53995c3f42cd8ad8));
        assert_eq!(trace.segments[0].detail.as_deref(), Some("Oops"));
        let fresh = start(None, 1_800_000_000_000);
        assert!(
            fresh.header.starts_with("Root=1-6b49d200-"),
            "{}",
            fresh.header
        );
        assert!(otlp_trace_id(&fresh.header).is_some());
        let kept = start(Some("Root=nope"), 0);
        assert_eq!(kept.header, "Root=nope", "the caller's text is kept");
    }
}
