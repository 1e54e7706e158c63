//! Routes a handler's own `tracing` events into its invocation's log stream.
//!
//! The handler's future runs under a dedicated dispatcher (scoped to that future, so nothing
//! global is installed) whose layer appends each event to the invocation's buffer, found in
//! a task-local.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// A line the handler logged, with its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedLine {
    /// `INFO`, `WARN`, ...
    pub level: &'static str,
    /// The message followed by any `key=value` fields.
    pub message: String,
}

tokio::task_local! {
    static BUFFER: RefCell<Vec<CapturedLine>>;
}

/// Runs `future` with its `tracing` events captured; returns its output and the lines.
pub async fn capture<F: Future>(future: F) -> (F::Output, Vec<CapturedLine>) {
    use tracing::instrument::WithSubscriber;
    BUFFER
        .scope(RefCell::new(Vec::new()), async move {
            let out = future.with_subscriber(dispatch().clone()).await;
            let lines = BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
            (out, lines)
        })
        .await
}

fn dispatch() -> &'static Dispatch {
    static DISPATCH: OnceLock<Dispatch> = OnceLock::new();
    DISPATCH.get_or_init(|| Dispatch::new(CaptureSubscriber))
}

/// The most verbose level captured, as Lambda's default log level.
const CAPTURED: Level = Level::INFO;

/// A subscriber that only captures events. Written directly against `Subscriber` rather than
/// as a layer over `tracing_subscriber`'s registry: handlers log on every invocation, and the
/// registry's span bookkeeping cost more than the capture itself. Spans are accepted and
/// ignored, as before.
struct CaptureSubscriber;

impl Subscriber for CaptureSubscriber {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        match *metadata.level() <= CAPTURED {
            true => Interest::always(),
            false => Interest::never(),
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= CAPTURED
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(CAPTURED))
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut visitor = LineVisitor::new();
        event.record(&mut visitor);
        let line = CapturedLine {
            level: event.metadata().level().as_str(),
            message: visitor.finish(),
        };
        let _ = BUFFER.try_with(|b| b.borrow_mut().push(line));
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Builds one line, `message key=value ...`, in a single buffer: the message usually comes
/// first, so fields append after it; a message recorded after fields is put in front.
struct LineVisitor {
    line: String,
}

impl LineVisitor {
    fn new() -> Self {
        // Room for a typical line, so it is built without growing.
        LineVisitor {
            line: String::with_capacity(64),
        }
    }

    fn finish(self) -> String {
        self.line
    }

    fn message(&mut self, message: &str) {
        match (self.line.is_empty(), message.is_empty()) {
            (_, true) => {}
            (true, false) => self.line.push_str(message),
            (false, false) => {
                self.line.insert(0, ' ');
                self.line.insert_str(0, message);
            }
        }
    }

    fn field_start(&mut self, field: &Field) {
        if !self.line.is_empty() {
            self.line.push(' ');
        }
        self.line.push_str(field.name());
        self.line.push('=');
    }
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message(value);
        } else {
            self.field_start(field);
            self.line.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            if self.line.is_empty() {
                let _ = write!(self.line, "{value:?}");
            } else {
                self.message(&format!("{value:?}"));
            }
        } else {
            self.field_start(field);
            let _ = write!(self.line, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_events_of_the_future_only() {
        let (out, lines) = capture(async {
            tracing::info!(user = "ada", "hello");
            tracing::debug!("filtered out");
            7
        })
        .await;
        assert_eq!(out, 7);
        assert_eq!(
            lines,
            vec![CapturedLine {
                level: "INFO",
                message: "hello user=ada".into()
            }]
        );
    }

    #[tokio::test]
    async fn lines_read_the_same_whatever_the_field_order() {
        let (_, lines) = capture(async {
            let n = 3;
            tracing::info!(message = "first", count = n);
            tracing::warn!(count = n, message = "after");
            tracing::info!(count = n, empty = "");
            tracing::info!(count = n, message = "");
            tracing::info!("{} {}", "only", "message");
        })
        .await;
        let text: Vec<String> = lines
            .iter()
            .map(|l| format!("{} {}", l.level, l.message))
            .collect();
        assert_eq!(
            text,
            [
                "INFO first count=3",
                "WARN after count=3",
                "INFO count=3 empty=",
                "INFO count=3",
                "INFO only message",
            ]
        );
    }
}
