//! How an invocation's run ends: under its deadline, or by a panic or a timeout; and the log
//! tail a caller can ask for. Kept apart so that the hot path of `try_invoke` stays compact.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use crate::clock::Elapsed;
use crate::invoke::{FunctionError, Payload};
use crate::Clock;

/// How much of an invocation's log `X-Amz-Log-Type: Tail` returns.
const LOG_TAIL_BYTES: usize = 4096;

/// A handler's panic as the invocation's error (out of line: the hot path never panics).
#[cold]
#[inline(never)]
pub(super) fn panicked(panic: Box<dyn std::any::Any + Send>) -> Result<Payload, FunctionError> {
    Err(FunctionError::panicked(panic_message(&panic)))
}

/// The error of an invocation that ran past its timeout.
#[cold]
#[inline(never)]
pub(super) fn timed_out(request_id: &str, secs: f64) -> Result<Payload, FunctionError> {
    Err(FunctionError::timed_out(request_id, secs))
}

/// Runs `call` for at most `timeout` from `start` on `clock`. Most handlers finish on their
/// first poll, and those need no timer: one is armed, for the time left, only when the first
/// poll leaves work pending.
pub(super) async fn within<F: Future>(
    clock: &Clock,
    start: SystemTime,
    timeout: Duration,
    call: F,
) -> Result<F::Output, Elapsed> {
    let mut call = pin!(call);
    let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
    if let Poll::Ready(out) = first {
        return Ok(out);
    }
    let spent = clock.now().duration_since(start).unwrap_or_default();
    // Boxed: the timer's future would otherwise sit, unused, in every invocation's future.
    Box::pin(clock.timeout(timeout.saturating_sub(spent), call)).await
}

/// The message a panic carries, as Lambda reports it.
pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

/// The last [`LOG_TAIL_BYTES`] of an invocation's log lines.
pub(super) fn tail(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    if text.len() > LOG_TAIL_BYTES {
        let mut cut = text.len() - LOG_TAIL_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
    text
}
