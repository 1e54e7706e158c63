//! Executions started through the Step Functions API (`StartExecution`,
//! `StartSyncExecution`): no request timeline holds them, so each is exported as a trace of
//! its own when it ends — one `execution` span, its states under it — joining the caller's
//! X-Ray trace when the start request named one.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use super::encode::otlp_trace_id;
use super::{enqueue, OtlpExporter};
use crate::observe::ids;
use crate::observe::trace_states::{parent_of, OnEnd, StateTimeline};
use crate::observe::traces::{Segment, Trace};

/// The name of an API-started execution's own span.
pub const EXECUTION_SPAN: &str = "execution";

/// The trace an API-started execution runs under.
#[derive(Debug)]
pub struct ExecutionExport {
    /// The X-Ray header the execution runs under: the caller's as given, or a new one.
    pub header: String,
    /// Where the execution records its states; they are exported when it ends.
    pub states: Arc<StateTimeline>,
}

impl OtlpExporter {
    /// Prepares the export of an execution started by `operation` at `start_ms` (ms since
    /// the epoch) under the caller's `trace_header`, if any.
    ///
    /// A header whose `Root=` is not an X-Ray trace id cannot be joined: the execution keeps
    /// it (DescribeExecution shows what was passed) but its spans go to a new trace. AWS
    /// accepts any ASCII header up to 256 characters and X-Ray starts a new trace for one it
    /// cannot read; the stack does the same.
    pub fn trace_execution(
        &self,
        trace_header: Option<&str>,
        start_ms: u64,
        operation: &'static str,
    ) -> ExecutionExport {
        let joined = trace_header.filter(|h| otlp_trace_id(h).is_some());
        let new_header = || format!("{};Sampled=1", ids::trace_id(start_ms / 1000));
        let trace_id = joined.map_or_else(new_header, str::to_owned);
        let header = trace_header.map_or_else(|| trace_id.clone(), str::to_owned);
        let parent = joined.and_then(parent_of);
        let span = ids::span_id();
        let arrived = Instant::now();
        let states = StateTimeline::new(arrived, span);
        let on_end = self.export_execution_on_end(ExecutionSpan {
            trace_id,
            operation,
            start_ms,
            arrived,
            span,
            parent,
        });
        // A new timeline has not ended: the hand-off is always taken.
        states.defer_until_end(on_end);
        ExecutionExport { header, states }
    }

    /// What queues the execution's trace once it ends. Holds the queue weakly: a stack that
    /// is gone exports nothing more.
    fn export_execution_on_end(&self, execution: ExecutionSpan) -> OnEnd {
        let queue = self.queue.downgrade();
        let counters = self.counters.clone();
        Box::new(move |arn: &str, states: Vec<Segment>| {
            let Some(queue) = queue.upgrade() else {
                return;
            };
            enqueue(&queue, &counters, execution.trace(arn, states));
        })
    }
}

/// What the execution's own span is made of.
struct ExecutionSpan {
    trace_id: String,
    operation: &'static str,
    start_ms: u64,
    arrived: Instant,
    span: u64,
    parent: Option<u64>,
}

impl ExecutionSpan {
    /// The finished trace: the execution's span from its start until now, then its states.
    fn trace(self, arn: &str, states: Vec<Segment>) -> Trace {
        let mut segments = Vec::with_capacity(states.len() + 1);
        segments.push(Segment {
            name: Cow::Borrowed(EXECUTION_SPAN),
            state_type: None,
            span_id: self.span,
            parent_span: self.parent,
            start_us: 0,
            duration_us: self.arrived.elapsed().as_micros() as u64,
            detail: None,
        });
        segments.extend(states);
        Trace {
            trace_id: self.trace_id,
            request_id: String::new(),
            start_ms: self.start_ms,
            request: self.operation.to_owned(),
            status: 0,
            segments,
            states: None,
            execution_arn: Some(arn.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[tokio::test]
    async fn the_callers_header_is_kept_and_a_missing_one_created() {
        let exporter = OtlpExporter::start("http://127.0.0.1:9", Clock::system()).unwrap();
        let joined = exporter.trace_execution(Some(HEADER), 0, "StartExecution");
        assert_eq!(joined.header, HEADER);
        assert_eq!(
            ExecutionSpan {
                trace_id: HEADER.into(),
                operation: "StartExecution",
                start_ms: 0,
                arrived: Instant::now(),
                span: 7,
                parent: parent_of(HEADER),
            }
            .trace("arn:x", Vec::new())
            .segments[0]
                .parent_span,
            Some(0x53995c3f42cd8ad8)
        );
        let fresh = exporter.trace_execution(None, 1_800_000_000_000, "StartExecution");
        assert!(
            fresh.header.starts_with("Root=1-6b49d200-"),
            "{}",
            fresh.header
        );
        assert!(otlp_trace_id(&fresh.header).is_some());
        let kept = exporter.trace_execution(Some("Root=nope"), 0, "StartExecution");
        assert_eq!(kept.header, "Root=nope", "the caller's text is kept");
    }
}
