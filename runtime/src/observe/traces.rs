//! Per-request timelines keyed by `X-Amzn-Trace-Id`: the gateway, admission, cache and
//! integration (function or workflow) segments of each request, and one segment per workflow
//! state entered, kept for the most recent requests in bounded memory and read from the admin
//! API (and exported over OTLP when a collector is configured).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::striped_queue::StripedQueue;
pub use super::trace_states::{parent_of, with_parent, ExecutionEnd, StateTimeline};

/// The name of the step of a request whose route started a workflow execution.
pub const WORKFLOW_SPAN: &str = "workflow";

/// How many requests' timelines are kept.
pub const TRACES_KEPT: usize = 1000;

/// One timed step of a request.
#[derive(Debug, Clone)]
pub struct Segment {
    /// `gateway`, `admission`, `cache`, `function`, `workflow`, or a workflow state's name.
    pub name: Cow<'static, str>,
    /// A workflow state's type (`Task`, `Pass`, `Choice`, ...); `None` for the other steps.
    pub state_type: Option<&'static str>,
    /// This step's span id (64 random bits).
    pub span_id: u64,
    /// The enclosing step's span id: the gateway for its steps, the `workflow` step for
    /// states, the caller's `Parent=` (if any) for the gateway itself.
    pub parent_span: Option<u64>,
    /// Start, µs after the request arrived.
    pub start_us: u64,
    /// Length in µs.
    pub duration_us: u64,
    /// What ran or how it ended (`hello`, `hit`, a Lambda request id...).
    pub detail: Option<String>,
}

/// One request's timeline.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The `X-Amzn-Trace-Id` header value, as received or created.
    pub trace_id: String,
    /// The gateway's request id.
    pub request_id: String,
    /// Arrival, ms since the epoch.
    pub start_ms: u64,
    /// `METHOD path`.
    pub request: String,
    /// Final status.
    pub status: u16,
    /// The steps, in start order.
    pub segments: Vec<Segment>,
    /// The states of a workflow this request started; they may still be running.
    pub states: Option<Arc<StateTimeline>>,
    /// Set on the timeline of an execution, once it ended, that outlived its request (its
    /// segments are then its states) or that the Step Functions API started (its
    /// `execution` segment, then its states): its ARN and how it ended.
    pub execution: Option<ExecutionEnd>,
}

impl Trace {
    /// The `Root=1-...` part of the trace header, which identifies the trace.
    pub fn root(&self) -> &str {
        root_of(&self.trace_id)
    }

    /// Every step, workflow states included, in start order (outer steps first on ties).
    pub fn all_segments(&self) -> Vec<Segment> {
        let mut all = self.segments.clone();
        if let Some(states) = &self.states {
            all.extend(states.segments());
        }
        all.sort_by_key(|s| (s.start_us, std::cmp::Reverse(s.duration_us)));
        all
    }

    /// How the execution on this timeline ended: one that outlived its request or that the
    /// Step Functions API started, or one a route started that ended before its request did.
    pub fn execution_end(&self) -> Option<ExecutionEnd> {
        self.execution
            .clone()
            .or_else(|| self.states.as_ref().and_then(|s| s.ended()))
    }

    /// The timeline as JSON; an ended execution's adds `execution` with its ARN, status and
    /// (when it failed) error and cause.
    pub fn to_json(&self) -> Value {
        let mut timeline = json!({
            "traceId": self.root(), "header": self.trace_id, "requestId": self.request_id,
            "startTime": self.start_ms, "request": self.request, "status": self.status,
            "segments": self.all_segments().iter().map(|s| {
                let mut v = json!({
                    "name": s.name, "startUs": s.start_us, "durationUs": s.duration_us,
                    "detail": s.detail, "spanId": format!("{:016x}", s.span_id),
                    "parentId": s.parent_span.map(|p| format!("{p:016x}")),
                });
                if let (Some(t), Some(o)) = (s.state_type, v.as_object_mut()) {
                    o.insert("type".into(), json!(t));
                }
                v
            }).collect::<Vec<_>>(),
        });
        if let (Some(e), Some(o)) = (self.execution_end(), timeline.as_object_mut()) {
            o.insert(
                "execution".into(),
                json!({"executionArn": e.arn, "status": e.status, "error": e.error, "cause": e.cause}),
            );
        }
        timeline
    }
}

/// The `Root=...` field of an `X-Amzn-Trace-Id` header (the whole value if it has none).
pub fn root_of(header: &str) -> &str {
    header
        .split(';')
        .find(|p| p.trim_start().starts_with("Root="))
        .map(str::trim)
        .unwrap_or(header)
}

/// Collects a request's segments relative to its arrival.
pub struct TraceBuilder {
    arrived: Instant,
    gateway_span: u64,
    segments: Vec<Segment>,
    states: Option<Arc<StateTimeline>>,
}

impl TraceBuilder {
    /// A timeline starting at `arrived`.
    pub fn new(arrived: Instant) -> Self {
        TraceBuilder {
            arrived,
            gateway_span: 0,
            segments: Vec::new(),
            states: None,
        }
    }

    /// When the request arrived.
    pub fn arrived(&self) -> Instant {
        self.arrived
    }

    /// A fresh span id for a step whose children start before it ends (a workflow).
    pub fn reserve_span(&self) -> u64 {
        super::ids::span_id()
    }

    /// Adds a step that ran from `start` until now.
    pub fn segment(&mut self, name: &'static str, start: Instant, detail: Option<String>) {
        self.segment_with_span(name, start, detail, super::ids::span_id());
    }

    /// Adds a step with a span id taken from [`TraceBuilder::reserve_span`].
    pub fn segment_with_span(
        &mut self,
        name: &'static str,
        start: Instant,
        detail: Option<String>,
        span_id: u64,
    ) {
        if self.gateway_span == 0 {
            self.gateway_span = super::ids::span_id();
        }
        let now = Instant::now();
        self.segments.push(Segment {
            name: Cow::Borrowed(name),
            state_type: None,
            span_id,
            parent_span: Some(self.gateway_span),
            start_us: start.saturating_duration_since(self.arrived).as_micros() as u64,
            duration_us: now.saturating_duration_since(start).as_micros() as u64,
            detail,
        });
    }

    /// The span id of the workflow step whose states are recorded, if any.
    pub fn states_parent(&self) -> Option<u64> {
        self.states.as_ref().map(|s| s.parent_span())
    }

    /// A timeline for the states of the workflow whose step has `span_id`.
    pub fn states(&mut self, span_id: u64) -> Arc<StateTimeline> {
        let states = StateTimeline::new(self.arrived, span_id);
        self.states = Some(states.clone());
        states
    }

    /// The finished timeline, with the whole request as its `gateway` segment.
    pub fn finish(
        mut self,
        trace_id: String,
        request_id: String,
        start_ms: u64,
        request: String,
        status: u16,
    ) -> Trace {
        let arrived = self.arrived;
        if self.gateway_span == 0 {
            self.gateway_span = super::ids::span_id();
        }
        let gateway_span = self.gateway_span;
        self.segment_with_span("gateway", arrived, None, gateway_span);
        if let Some(gateway) = self.segments.last_mut() {
            gateway.parent_span = parent_of(&trace_id);
        }
        self.segments
            .sort_by_key(|s| (s.start_us, std::cmp::Reverse(s.duration_us)));
        Trace {
            trace_id,
            request_id,
            start_ms,
            request,
            status,
            segments: self.segments,
            states: self.states,
            execution: None,
        }
    }
}

/// The most recent timelines, in a [`StripedQueue`]: each thread appends to its own stripe
/// (one lock and queue shared by every worker moved their cache lines between cores on every
/// traced request), and reads see the newest [`TRACES_KEPT`], as one bounded queue would.
pub struct TraceStore {
    traces: StripedQueue<Trace>,
}

impl Default for TraceStore {
    fn default() -> Self {
        TraceStore {
            traces: StripedQueue::new(TRACES_KEPT),
        }
    }
}

impl TraceStore {
    /// Keeps a timeline, dropping the oldest of this thread's stripe past [`TRACES_KEPT`].
    pub fn push(&self, trace: Trace) {
        self.traces.push(trace);
    }

    /// Every kept timeline of a trace (a client may reuse one trace id), oldest first.
    pub fn get(&self, trace_id: &str) -> Vec<Trace> {
        let wanted = root_of(trace_id);
        let mut kept = self
            .traces
            .newest(usize::MAX, |t| (t.root() == wanted).then(|| t.clone()));
        kept.reverse();
        kept
    }

    /// The newest `limit` timelines, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Trace> {
        self.traces.newest(limit, |t| Some(t.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_and_roots_match() {
        let store = TraceStore::default();
        for i in 0..TRACES_KEPT + 5 {
            let b = TraceBuilder::new(Instant::now());
            store.push(b.finish(
                format!("Root=1-{i};Sampled=1"),
                String::new(),
                0,
                String::new(),
                200,
            ));
        }
        assert_eq!(store.recent(usize::MAX).len(), TRACES_KEPT);
        assert!(store.get("Root=1-0").is_empty(), "the oldest were dropped");
        assert_eq!(store.get("Root=1-7;Parent=x").len(), 1);
        assert_eq!(root_of("Parent=1;Root=1-a;Sampled=0"), "Root=1-a");
    }

    fn trace(root: &str) -> Trace {
        TraceBuilder::new(Instant::now()).finish(root.into(), String::new(), 0, String::new(), 200)
    }

    #[test]
    fn timelines_of_many_threads_merge_newest_first_and_stay_bounded() {
        let store = Arc::new(TraceStore::default());
        // Threads take turns (each waits for the one before), so the order of pushes across
        // stripes is known; 12 threads cover every stripe, some shared.
        let mut pushed = 0;
        for _ in 0..12 {
            let store = store.clone();
            let first = pushed;
            pushed += 150;
            std::thread::spawn(move || {
                for i in first..first + 150 {
                    store.push(trace(&format!("Root=1-{i}")));
                }
            })
            .join()
            .unwrap();
        }
        let recent = store.recent(usize::MAX);
        assert_eq!(recent.len(), TRACES_KEPT);
        let expected: Vec<String> = (pushed - TRACES_KEPT..pushed)
            .rev()
            .map(|i| format!("Root=1-{i}"))
            .collect();
        let got: Vec<&str> = recent.iter().map(|t| t.trace_id.as_str()).collect();
        assert_eq!(got, expected);
        assert_eq!(store.recent(3).len(), 3);
        assert!(store
            .get(&format!("Root=1-{}", pushed - TRACES_KEPT - 1))
            .is_empty());
        assert_eq!(store.get(&format!("Root=1-{}", pushed - 1)).len(), 1);
    }
}
