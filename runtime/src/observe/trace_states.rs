//! The workflow side of a request's timeline: one segment per state an execution enters,
//! recorded by the execution while it runs (possibly after the request has been answered),
//! and the X-Ray header fields that link a child step to its parent.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::traces::Segment;

/// The states an execution entered, timed relative to the request that started it.
#[derive(Debug)]
pub struct StateTimeline {
    arrived: Instant,
    parent_span: u64,
    segments: Mutex<Vec<Segment>>,
}

impl StateTimeline {
    /// A timeline whose states are children of the step with `parent_span`.
    pub fn new(arrived: Instant, parent_span: u64) -> Arc<Self> {
        Arc::new(StateTimeline {
            arrived,
            parent_span,
            segments: Mutex::new(Vec::new()),
        })
    }

    /// The span id of the workflow step the states belong to.
    pub fn parent_span(&self) -> u64 {
        self.parent_span
    }

    /// Records a state that ran from `start` until now.
    pub fn record(
        &self,
        name: &str,
        state_type: &'static str,
        span_id: u64,
        start: Instant,
        detail: Option<String>,
    ) {
        let segment = Segment {
            name: Cow::Owned(name.to_owned()),
            state_type: Some(state_type),
            span_id,
            parent_span: Some(self.parent_span),
            start_us: start.saturating_duration_since(self.arrived).as_micros() as u64,
            duration_us: start.elapsed().as_micros() as u64,
            detail,
        };
        self.segments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(segment);
    }

    /// The states recorded so far, in the order they finished.
    pub fn segments(&self) -> Vec<Segment> {
        self.segments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The `Parent=` span id of an `X-Amzn-Trace-Id` header, when it has a valid one.
pub fn parent_of(header: &str) -> Option<u64> {
    let value = header
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Parent="))?;
    if value.len() != 16 {
        return None;
    }
    u64::from_str_radix(value, 16).ok().filter(|v| *v != 0)
}

/// The header with its `Parent=` set to `span_id`: what a child step is handed, as X-Ray does
/// (`Root=...;Parent=...;Sampled=...`, the caller's other fields kept).
pub fn with_parent(header: &str, span_id: u64) -> String {
    let mut out = String::with_capacity(header.len() + 24);
    let mut parent_written = false;
    for part in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if part.starts_with("Parent=") && parent_written {
            continue;
        }
        if !out.is_empty() {
            out.push(';');
        }
        if part.starts_with("Parent=") {
            out.push_str(&format!("Parent={span_id:016x}"));
            parent_written = true;
        } else {
            out.push_str(part);
            if part.starts_with("Root=") && !parent_written {
                out.push_str(&format!(";Parent={span_id:016x}"));
                parent_written = true;
            }
        }
    }
    if !parent_written {
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(&format!("Parent={span_id:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_read_and_replaced() {
        let h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(parent_of(h), Some(0x53995c3f42cd8ad8));
        assert_eq!(parent_of("Root=1-a;Parent=xyz"), None);
        assert_eq!(
            with_parent(h, 0xab),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=00000000000000ab;Sampled=1"
        );
        assert_eq!(
            with_parent("Root=1-a;Sampled=0", 1),
            "Root=1-a;Parent=0000000000000001;Sampled=0"
        );
        assert_eq!(with_parent("", 1), "Parent=0000000000000001");
    }
}
