//! `Event` invocations: queued per function, retried on function errors with Lambda's
//! backoff and on throttles until the maximum event age, then recorded at a destination
//! (another function, or a dead-letter file) in Lambda's destination record format. Every
//! accepted event ends in success, a destination, or a logged drop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{event_store, Function, FunctionError, Invocation, Payload};
use crate::observe::{ids, timefmt};
use crate::store::StoreError;

/// First wait after a throttled attempt; doubles up to [`MAX_THROTTLE_BACKOFF`].
const FIRST_THROTTLE_BACKOFF: Duration = Duration::from_secs(1);
/// Lambda backs off throttled events up to 5 minutes between attempts.
const MAX_THROTTLE_BACKOFF: Duration = Duration::from_secs(300);

/// A destination resolved against the stack's functions.
#[derive(Clone)]
pub(crate) enum Target {
    Function(Weak<Function>),
    File(PathBuf),
}

/// The asynchronous side of one function version.
#[derive(Default)]
pub(crate) struct AsyncQueue {
    pub on_success: Option<Target>,
    pub on_failure: Option<Target>,
    pending: Arc<AtomicU32>,
}

impl AsyncQueue {
    pub(crate) fn new(on_success: Option<Target>, on_failure: Option<Target>) -> Self {
        AsyncQueue {
            on_success,
            on_failure,
            pending: Arc::new(AtomicU32::new(0)),
        }
    }
}

/// How an event left the queue.
enum Ending {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

impl Ending {
    fn condition(&self) -> &'static str {
        match self {
            Ending::Success => "Success",
            Ending::RetriesExhausted => "RetriesExhausted",
            Ending::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

impl Function {
    /// Accepts an `Event` invocation: records it in the store (when the stack has one), then
    /// returns its request id and runs it (with retries and destinations) in the background.
    /// Nothing is accepted when the record cannot be written.
    pub async fn invoke_async(
        self: &Arc<Self>,
        payload: Bytes,
        trace_id: Option<String>,
    ) -> Result<String, StoreError> {
        let request_id = ids::uuid();
        let accepted_ms = self.clock().now_millis();
        if let Some(store) = self.events.get() {
            let trace = trace_id.as_deref();
            event_store::record(
                store.as_ref(),
                self,
                &request_id,
                &payload,
                trace,
                accepted_ms,
            )
            .await?;
        }
        self.resume_async(request_id.clone(), payload, trace_id, accepted_ms);
        Ok(request_id)
    }

    /// Runs an accepted event (new, or read back from the store after a restart) in the
    /// background; its maximum age counts from `accepted_ms`.
    pub(crate) fn resume_async(
        self: &Arc<Self>,
        request_id: String,
        payload: Bytes,
        trace_id: Option<String>,
        accepted_ms: u64,
    ) {
        let queue = self.queue.get_or_init(AsyncQueue::default);
        queue.pending.fetch_add(1, Ordering::AcqRel);
        let pending = queue.pending.clone();
        let function = self.clone();
        tokio::spawn(async move {
            run_event(&function, &request_id, payload, trace_id, accepted_ms).await;
            if let Some(store) = function.events.get() {
                event_store::forget(store.as_ref(), &request_id).await;
            }
            pending.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Accepted `Event` invocations not yet finished (retrying or waiting).
    pub fn async_pending(&self) -> u32 {
        self.queue
            .get()
            .map_or(0, |q| q.pending.load(Ordering::Acquire))
    }
}

async fn run_event(
    function: &Arc<Function>,
    request_id: &str,
    payload: Bytes,
    trace: Option<String>,
    accepted: u64,
) {
    let request_id = request_id.to_owned();
    let clock = function.clock().clone();
    let settings = &function.settings().asynchronous;
    let expires = accepted + settings.maximum_event_age.as_millis() as u64;
    let mut attempts: u32 = 0;
    let mut throttle_backoff = FIRST_THROTTLE_BACKOFF;
    let mut last: Option<(&'static str, Result<Payload, FunctionError>)> = None;
    let ending = loop {
        if clock.now_millis() >= expires {
            break Ending::EventAgeExceeded;
        }
        let mut invocation = Invocation::new(Payload::Raw(payload.clone()));
        invocation.trace_id = trace.clone();
        invocation.request_id = Some(request_id.clone());
        let wait = match function.try_invoke(invocation).await {
            Err(_throttled) => {
                // Throttles do not use up retries; they back off until the event is too old.
                let wait = throttle_backoff;
                throttle_backoff = (throttle_backoff * 2).min(MAX_THROTTLE_BACKOFF);
                wait
            }
            Ok(outcome) => {
                attempts += 1;
                let failed = outcome.result.is_err();
                last = Some((outcome.executed_version, outcome.result));
                if !failed {
                    break Ending::Success;
                }
                if attempts > settings.maximum_retry_attempts {
                    break Ending::RetriesExhausted;
                }
                settings.retry_delay * 2u32.saturating_pow(attempts - 1)
            }
        };
        let next = clock.now_millis() + wait.as_millis() as u64;
        clock
            .sleep_until(UNIX_EPOCH + Duration::from_millis(next.min(expires)))
            .await;
    };
    let queue = function.queue.get();
    let target = match ending {
        Ending::Success => queue.and_then(|q| q.on_success.clone()),
        _ => queue.and_then(|q| q.on_failure.clone()),
    };
    let record = destination_record(function, &request_id, &payload, &ending, attempts, last);
    match target {
        Some(target) => deliver(function, target, &request_id, record).await,
        None if matches!(ending, Ending::Success) => {}
        None => log_drop(function, &request_id, &ending, attempts, None),
    }
}

fn destination_record(
    function: &Function,
    request_id: &str,
    payload: &Bytes,
    ending: &Ending,
    attempts: u32,
    last: Option<(&'static str, Result<Payload, FunctionError>)>,
) -> Value {
    let request_payload: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    let executed = last
        .as_ref()
        .map_or_else(|| function.version().to_owned(), |(v, _)| v.to_string());
    let mut record = json!({
        "version": "1.0",
        "timestamp": timefmt::iso8601_millis(function.clock().now_millis()),
        "requestContext": {
            "requestId": request_id,
            "functionArn": format!("{}:{executed}", super::function_arn(function.name())),
            "condition": ending.condition(),
            "approximateInvokeCount": attempts,
        },
        "requestPayload": request_payload,
    });
    if let Some((version, result)) = last {
        let mut response = json!({"statusCode": 200, "executedVersion": version});
        let body = match result {
            Ok(payload) => payload
                .into_value()
                .unwrap_or_else(|e| FunctionError::bad_result(e).to_json()),
            Err(err) => {
                response["functionError"] = json!("Unhandled");
                err.to_json()
            }
        };
        record["responseContext"] = response;
        record["responsePayload"] = body;
    }
    record
}

async fn deliver(function: &Function, target: Target, request_id: &str, record: Value) {
    let condition = record["requestContext"]["condition"].clone();
    let attempts = record["requestContext"]["approximateInvokeCount"]
        .as_u64()
        .unwrap_or(0) as u32;
    match target {
        Target::Function(weak) => match weak.upgrade() {
            Some(destination) => {
                let body = Bytes::from(record.to_string());
                if let Err(e) = destination.invoke_async(body, None).await {
                    let why = format!("the destination could not queue it: {e}");
                    log_drop_condition(function, request_id, &condition, attempts, Some(&why));
                }
            }
            None => log_drop_condition(
                function,
                request_id,
                &condition,
                attempts,
                Some("destination function is gone"),
            ),
        },
        Target::File(path) => {
            let mut line = record.to_string();
            line.push('\n');
            let written = async {
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .await?;
                file.write_all(line.as_bytes()).await?;
                file.flush().await
            }
            .await;
            if let Err(e) = written {
                let why = format!("writing {} failed: {e}", path.display());
                log_drop_condition(function, request_id, &condition, attempts, Some(&why));
            }
        }
    }
}

fn log_drop(
    function: &Function,
    request_id: &str,
    ending: &Ending,
    attempts: u32,
    why: Option<&str>,
) {
    log_drop_condition(
        function,
        request_id,
        &json!(ending.condition()),
        attempts,
        why,
    );
}

fn log_drop_condition(
    function: &Function,
    request_id: &str,
    condition: &Value,
    attempts: u32,
    why: Option<&str>,
) {
    let condition = condition.as_str().unwrap_or("Unknown");
    let why = why.unwrap_or("no on-failure destination");
    let line = format!(
        "Asynchronous event {request_id} dropped: {condition} after {attempts} attempt(s): {why}"
    );
    tracing::warn!(function = function.name(), "{line}");
    function.log_line(line);
}
