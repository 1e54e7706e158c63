//! Per-request timelines keyed by `X-Amzn-Trace-Id`: the gateway, admission, cache and
//! integration (function or workflow) segments of each request, kept for the most recent
//! requests in bounded memory and read from the admin API.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

/// How many requests' timelines are kept.
pub const TRACES_KEPT: usize = 1000;

/// One timed step of a request.
#[derive(Debug, Clone)]
pub struct Segment {
    /// `gateway`, `admission`, `cache`, `function`, `workflow`.
    pub name: &'static str,
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
}

impl Trace {
    /// The `Root=1-...` part of the trace header, which identifies the trace.
    pub fn root(&self) -> &str {
        root_of(&self.trace_id)
    }

    /// The timeline as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "traceId": self.root(), "header": self.trace_id, "requestId": self.request_id,
            "startTime": self.start_ms, "request": self.request, "status": self.status,
            "segments": self.segments.iter().map(|s| json!({
                "name": s.name, "startUs": s.start_us, "durationUs": s.duration_us, "detail": s.detail,
            })).collect::<Vec<_>>(),
        })
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
    segments: Vec<Segment>,
}

impl TraceBuilder {
    /// A timeline starting at `arrived`.
    pub fn new(arrived: Instant) -> Self {
        TraceBuilder {
            arrived,
            segments: Vec::with_capacity(4),
        }
    }

    /// Adds a step that ran from `start` until now.
    pub fn segment(&mut self, name: &'static str, start: Instant, detail: Option<String>) {
        let now = Instant::now();
        self.segments.push(Segment {
            name,
            start_us: start.saturating_duration_since(self.arrived).as_micros() as u64,
            duration_us: now.saturating_duration_since(start).as_micros() as u64,
            detail,
        });
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
        self.segment("gateway", arrived, None);
        self.segments
            .sort_by_key(|s| (s.start_us, std::cmp::Reverse(s.duration_us)));
        Trace {
            trace_id,
            request_id,
            start_ms,
            request,
            status,
            segments: self.segments,
        }
    }
}

/// The most recent timelines.
#[derive(Default)]
pub struct TraceStore {
    traces: Mutex<VecDeque<Trace>>,
}

impl TraceStore {
    /// Keeps a timeline, dropping the oldest past [`TRACES_KEPT`].
    pub fn push(&self, trace: Trace) {
        let mut traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        if traces.len() == TRACES_KEPT {
            traces.pop_front();
        }
        traces.push_back(trace);
    }

    /// Every timeline of a trace (a client may reuse one trace id), oldest first.
    pub fn get(&self, trace_id: &str) -> Vec<Trace> {
        let wanted = root_of(trace_id);
        let traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces
            .iter()
            .filter(|t| t.root() == wanted)
            .cloned()
            .collect()
    }

    /// The newest `limit` timelines, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Trace> {
        let traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.iter().rev().take(limit).cloned().collect()
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
}
