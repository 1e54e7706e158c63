//! OTLP export: each finished request timeline goes to a bounded queue; a background task
//! batches the queue into OTLP/HTTP JSON `POST {endpoint}/v1/traces` requests (over http or
//! https), all on one keep-alive connection, and retries a failed batch with exponential
//! backoff. A full queue drops the trace and counts it: export never blocks or slows a request.
//!
//! A workflow execution still running when its request ends is exported on its own when it
//! ends: its states, under the request's trace id, children of the request's `workflow` span.
//! An execution started through the Step Functions API is exported when it ends too
//! ([`crate::observe::execution_traces`], through a [`LaterExport`]).

pub mod encode;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::traces::{ExecutionEnd, Segment, Trace};
use crate::net::http_client::HttpClient;
use crate::net::kept_connection::KeptConnection;
use crate::Clock;

/// Traces waiting for export; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 2048;
/// Traces per export request at most.
pub const BATCH_SIZE: usize = 128;
/// Tries per batch before it is given up.
pub const ATTEMPTS: u32 = 5;
/// The wait before the first retry; it doubles each time, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long one export request may take (OTLP's default timeout) before it counts as failed.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a collector's answer that is kept; the rest is read and discarded, so that
/// the connection stays open for the next batch.
const ANSWER_LIMIT: usize = 64 * 1024;

/// What the exporter has done, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct ExportCounters {
    /// Traces the collector accepted.
    pub exported: AtomicU64,
    /// Traces dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Traces given up after every try failed, or refused by the collector.
    pub failed: AtomicU64,
    /// Export requests retried.
    pub retries: AtomicU64,
}

/// The sending side of the export queue.
pub struct OtlpExporter {
    queue: mpsc::Sender<Trace>,
    counters: Arc<ExportCounters>,
}

impl OtlpExporter {
    /// Starts the background task posting to `{endpoint}/v1/traces` (`endpoint` was checked
    /// at config load). Needs a Tokio runtime; without one there is no exporter.
    pub fn start(endpoint: &str, clock: Clock) -> Option<OtlpExporter> {
        Self::start_with_capacity(endpoint, clock, QUEUE_CAPACITY)
    }

    fn start_with_capacity(endpoint: &str, clock: Clock, capacity: usize) -> Option<Self> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                "otlp_endpoint is set but the stack was built outside a Tokio runtime: no export"
            );
            return None;
        };
        let url: http::Uri = format!("{endpoint}/v1/traces").parse().ok()?;
        let (queue, rx) = mpsc::channel(capacity);
        let counters = Arc::new(ExportCounters::default());
        runtime.spawn(run(url, rx, counters.clone(), clock));
        Some(OtlpExporter { queue, counters })
    }

    /// Queues a finished trace, or drops and counts it when the queue is full. The states of
    /// a workflow execution still running follow as their own trace when it ends.
    pub fn submit(&self, mut trace: Trace) {
        if let Some(states) = trace.states.take() {
            let on_end = self.export_on_end(&trace);
            if !states.defer_until_end(on_end) {
                trace.states = Some(states);
            }
        }
        enqueue(&self.queue, &self.counters, trace);
    }

    /// What queues an execution's states once it ends, under `request`'s trace header.
    fn export_on_end(&self, request: &Trace) -> super::trace_states::OnEnd {
        let later = self.later();
        let (trace_id, request_id) = (request.trace_id.clone(), request.request_id.clone());
        let (start_ms, request_line) = (request.start_ms, request.request.clone());
        Box::new(move |ended: &ExecutionEnd, segments: Vec<Segment>| {
            later.submit(Trace {
                trace_id,
                request_id,
                start_ms,
                request: request_line,
                status: 0,
                segments,
                states: None,
                execution: Some(ended.clone()),
            });
        })
    }

    /// A handle that queues traces later, for as long as this exporter lives.
    pub fn later(&self) -> LaterExport {
        LaterExport {
            queue: self.queue.downgrade(),
            counters: self.counters.clone(),
        }
    }

    /// The exporter's counters.
    pub fn counters(&self) -> &ExportCounters {
        &self.counters
    }
}

/// Queues traces that finish after the request that began them (an execution's). Holds the
/// queue weakly: a stack that is gone exports nothing more.
pub struct LaterExport {
    queue: mpsc::WeakSender<Trace>,
    counters: Arc<ExportCounters>,
}

impl LaterExport {
    /// Queues a finished trace (or drops and counts it when the queue is full), unless the
    /// exporter is gone.
    pub fn submit(&self, trace: Trace) {
        if let Some(queue) = self.queue.upgrade() {
            enqueue(&queue, &self.counters, trace);
        }
    }
}

fn enqueue(queue: &mpsc::Sender<Trace>, counters: &ExportCounters, trace: Trace) {
    if queue.try_send(trace).is_err() {
        counters.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

async fn run(
    url: http::Uri,
    mut rx: mpsc::Receiver<Trace>,
    counters: Arc<ExportCounters>,
    clock: Clock,
) {
    // Trusts the system's CA bundle (`SSL_CERT_FILE`) for an https:// collector.
    // One connection, kept open across batches (and opened anew when the collector closed it).
    let mut client = KeptConnection::new(HttpClient::new(Vec::new()));
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    // Ends when the stack (the sender) is dropped and the queue is drained.
    while rx.recv_many(&mut batch, BATCH_SIZE).await > 0 {
        let body = Bytes::from(encode::encode(&batch, "portico").to_string());
        let count = batch.len() as u64;
        batch.clear();
        let outcome = send_with_retries(&mut client, &url, body, &counters, &clock).await;
        let counter = match outcome {
            Ok(()) => &counters.exported,
            Err(reason) => {
                tracing::warn!(%url, %reason, traces = count, "OTLP export failed");
                &counters.failed
            }
        };
        counter.fetch_add(count, Ordering::Relaxed);
    }
}

async fn send_with_retries(
    client: &mut KeptConnection,
    url: &http::Uri,
    body: Bytes,
    counters: &ExportCounters,
    clock: &Clock,
) -> Result<(), String> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let reason = match send(client, url, body.clone(), clock).await {
            Ok(status) if status.is_success() => return Ok(()),
            // OTLP/HTTP: only these answers (and no answer at all) may be retried.
            Ok(status) if matches!(status.as_u16(), 429 | 502 | 503 | 504) => status.to_string(),
            Ok(status) => return Err(format!("collector answered {status}")),
            Err(e) => e,
        };
        if attempt >= ATTEMPTS {
            return Err(format!("{reason} (after {attempt} tries)"));
        }
        counters.retries.fetch_add(1, Ordering::Relaxed);
        clock.sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

async fn send(
    client: &mut KeptConnection,
    url: &http::Uri,
    body: Bytes,
    clock: &Clock,
) -> Result<http::StatusCode, String> {
    let request = http::Request::post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| e.to_string())?;
    let response = client
        .send_within(request, ANSWER_LIMIT, clock, EXPORT_TIMEOUT)
        .await?;
    Ok(response.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::traces::TraceBuilder;

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let exporter = OtlpExporter::start_with_capacity("http://127.0.0.1:9", Clock::system(), 4)
            .expect("a runtime is running");
        // The export task has not run yet (this runtime has one thread): the queue fills.
        for i in 0..10 {
            let trace = TraceBuilder::new(std::time::Instant::now()).finish(
                format!("Root=1-{i}"),
                String::new(),
                0,
                "GET /".into(),
                200,
            );
            exporter.submit(trace);
        }
        assert_eq!(exporter.counters().dropped.load(Ordering::Relaxed), 6);
    }
}
