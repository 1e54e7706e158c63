//! Routes a handler's own `tracing` events into its invocation's log stream.
//!
//! While the handler's future is polled, a dedicated dispatcher is the thread's default (so
//! nothing global is installed) and the invocation's buffer sits in a thread-local, where the
//! subscriber appends each event. One wrapper does both: a tokio task-local plus
//! `WithDispatch` cost twice the bookkeeping per poll.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;

use smallvec::SmallVec;
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

/// An invocation's captured lines; the first two are kept inline, without an allocation.
pub type CapturedLines = SmallVec<[CapturedLine; 2]>;

thread_local! {
    /// The buffer of the invocation being polled on this thread, if any.
    static BUFFER: RefCell<Option<CapturedLines>> = const { RefCell::new(None) };
}

/// Runs `future` with its `tracing` events captured; returns its output and the lines.
pub async fn capture<F: Future>(future: F) -> (F::Output, CapturedLines) {
    let mut future = pin!(future);
    let mut lines = Some(CapturedLines::new());
    let out = std::future::poll_fn(|cx| {
        let _dispatch = tracing::dispatcher::set_default(dispatch());
        let scope = Scope::enter(&mut lines);
        let polled = future.as_mut().poll(cx);
        drop(scope);
        polled
    })
    .await;
    (out, lines.unwrap_or_default())
}

/// Puts an invocation's buffer in the thread-local for one poll and takes it back after,
/// also when the poll unwinds; the buffer of an enclosing capture (a handler invoking
/// another function in process) is put back in turn.
struct Scope<'a> {
    lines: &'a mut Option<CapturedLines>,
    outer: Option<CapturedLines>,
}

impl<'a> Scope<'a> {
    fn enter(lines: &'a mut Option<CapturedLines>) -> Self {
        let outer = BUFFER.with(|b| b.replace(lines.take()));
        Scope { lines, outer }
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        let outer = self.outer.take();
        *self.lines = BUFFER.with(|b| b.replace(outer));
    }
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
        let _ = BUFFER.try_with(|b| {
            if let Some(lines) = b.borrow_mut().as_mut() {
                lines.push(line);
            }
        });
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
            lines.into_vec(),
            vec![CapturedLine {
                level: "INFO",
                message: "hello user=ada".into()
            }]
        );
    }

    #[tokio::test]
    async fn nested_captures_keep_their_own_lines() {
        let (inner, outer) = capture(async {
            tracing::info!("outer one");
            let (_, inner) = capture(async {
                tracing::info!("inner");
                tokio::task::yield_now().await;
                tracing::info!("inner again");
            })
            .await;
            tokio::task::yield_now().await;
            tracing::info!("outer two");
            inner
        })
        .await;
        let text = |lines: CapturedLines| -> Vec<String> {
            lines.into_iter().map(|l| l.message).collect()
        };
        assert_eq!(text(outer), ["outer one", "outer two"]);
        assert_eq!(text(inner), ["inner", "inner again"]);
        tracing::info!("outside any capture");
        assert!(BUFFER.with(|b| b.borrow().is_none()));
    }

    #[tokio::test]
    async fn a_panicking_handler_leaves_no_buffer_behind() {
        use futures_util::FutureExt;
        let (out, lines) = capture(
            std::panic::AssertUnwindSafe(async {
                tracing::warn!("before");
                panic!("boom");
            })
            .catch_unwind(),
        )
        .await;
        assert!(out.is_err());
        assert_eq!(lines.len(), 1);
        assert!(BUFFER.with(|b| b.borrow().is_none()));
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
