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
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};

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
    DISPATCH.get_or_init(|| {
        // A global level filter, not a per-layer one: per-layer filtering costs more than the
        // capture itself on every event.
        let subscriber = tracing_subscriber::registry()
            .with(LevelFilter::INFO)
            .with(CaptureLayer);
        Dispatch::new(subscriber)
    })
}

struct CaptureLayer;

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let line = CapturedLine {
            level: event.metadata().level().as_str(),
            message: visitor.finish(),
        };
        let _ = BUFFER.try_with(|b| b.borrow_mut().push(line));
    }
}

#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl LineVisitor {
    fn finish(mut self) -> String {
        if !self.fields.is_empty() {
            if !self.message.is_empty() {
                self.message.push(' ');
            }
            self.message.push_str(self.fields.trim_start());
        }
        self.message
    }
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
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
}
