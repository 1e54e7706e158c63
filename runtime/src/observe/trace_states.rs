//! The workflow side of a request's timeline: one segment per state an execution enters,
//! recorded by the execution while it runs (possibly after the request has been answered),
//! and the X-Ray header fields that link a child step to its parent.
//!
//! An execution that is still running when its request's timeline is exported cannot send
//! its states with it: the exporter leaves a hand-off here ([`StateTimeline::defer_until_end`])
//! and the execution, when it ends ([`StateTimeline::end`]), hands its states over.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::traces::Segment;

/// What runs once an execution has ended, given how it ended and every state it entered.
pub type OnEnd = Box<dyn FnOnce(&ExecutionEnd, Vec<Segment>) + Send>;

/// How an execution ended, as its timeline is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionEnd {
    /// The execution's ARN.
    pub arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: &'static str,
    /// The error name, when it failed with one.
    pub error: Option<String>,
    /// The cause, when it failed with one.
    pub cause: Option<String>,
}

impl ExecutionEnd {
    /// An execution that ended any other way than `SUCCEEDED`.
    pub fn failed(&self) -> bool {
        self.status != "SUCCEEDED"
    }

    /// For a failed execution, what went wrong: `error: cause`, either alone when the other is
    /// empty, or the status (`execution ABORTED`) when it has neither.
    pub fn error_message(&self) -> Option<String> {
        if !self.failed() {
            return None;
        }
        let present = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        Some(match (present(&self.error), present(&self.cause)) {
            (Some(error), Some(cause)) => format!("{error}: {cause}"),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => format!("execution {}", self.status),
        })
    }
}

/// The states an execution entered, timed relative to the request that started it.
pub struct StateTimeline {
    arrived: Instant,
    parent_span: u64,
    recorded: Mutex<Recorded>,
}

struct Recorded {
    segments: Vec<Segment>,
    phase: Phase,
    /// How the execution ended, once it has.
    ended: Option<ExecutionEnd>,
}

enum Phase {
    Running,
    /// Running, and someone waits for the end.
    Deferred(OnEnd),
    Ended,
}

impl std::fmt::Debug for StateTimeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateTimeline")
            .field("parent_span", &self.parent_span)
            .finish()
    }
}

impl StateTimeline {
    /// A timeline whose states are children of the step with `parent_span`.
    pub fn new(arrived: Instant, parent_span: u64) -> Arc<Self> {
        Arc::new(StateTimeline {
            arrived,
            parent_span,
            recorded: Mutex::new(Recorded {
                segments: Vec::new(),
                phase: Phase::Running,
                ended: None,
            }),
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
        self.lock().segments.push(segment);
    }

    /// The states recorded so far, in the order they finished.
    pub fn segments(&self) -> Vec<Segment> {
        self.lock().segments.clone()
    }

    /// Runs `on_end` when the execution ends; returns false (and drops `on_end`) when it has
    /// already ended, so the caller has every state now.
    pub fn defer_until_end(&self, on_end: OnEnd) -> bool {
        let mut recorded = self.lock();
        match recorded.phase {
            Phase::Ended => false,
            _ => {
                recorded.phase = Phase::Deferred(on_end);
                true
            }
        }
    }

    /// How the execution ended; `None` while it runs.
    pub fn ended(&self) -> Option<ExecutionEnd> {
        self.lock().ended.clone()
    }

    /// Marks the execution ended and runs what waited for it, once.
    pub fn end(&self, ended: &ExecutionEnd) {
        let mut recorded = self.lock();
        recorded.ended = Some(ended.clone());
        let waiting = std::mem::replace(&mut recorded.phase, Phase::Ended);
        if let Phase::Deferred(on_end) = waiting {
            let segments = recorded.segments.clone();
            drop(recorded);
            on_end(ended, segments);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
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
    fn states_are_handed_over_once_at_the_end() {
        let timeline = StateTimeline::new(Instant::now(), 7);
        timeline.record("A", "Pass", 1, Instant::now(), None);
        let (tx, rx) = std::sync::mpsc::channel();
        let on_end: OnEnd = Box::new(move |ended, segments| {
            let _ = tx.send((ended.arn.clone(), segments.len()));
        });
        assert!(timeline.defer_until_end(on_end), "still running: deferred");
        timeline.record("B", "Succeed", 2, Instant::now(), None);
        assert!(rx.try_recv().is_err(), "nothing before the end");
        let ended = ExecutionEnd {
            arn: "arn:x".into(),
            status: "SUCCEEDED",
            error: None,
            cause: None,
        };
        timeline.end(&ended);
        assert_eq!(rx.try_recv().ok(), Some(("arn:x".to_owned(), 2)));
        timeline.end(&ended);
        assert!(rx.try_recv().is_err(), "handed over once");
        assert!(
            !timeline.defer_until_end(Box::new(|_, _| panic!("ended already"))),
            "an ended execution's states are all there now"
        );
    }

    #[test]
    fn a_failed_end_says_what_went_wrong() {
        let end = |status, error: Option<&str>, cause: Option<&str>| ExecutionEnd {
            arn: "arn:x".into(),
            status,
            error: error.map(str::to_owned),
            cause: cause.map(str::to_owned),
        };
        assert_eq!(end("SUCCEEDED", None, None).error_message(), None);
        assert_eq!(
            end("FAILED", Some("Oops"), Some("it broke")).error_message(),
            Some("Oops: it broke".into())
        );
        assert_eq!(
            end("TIMED_OUT", Some("States.Timeout"), Some("")).error_message(),
            Some("States.Timeout".into())
        );
        assert_eq!(
            end("ABORTED", None, None).error_message(),
            Some("execution ABORTED".into())
        );
    }

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
