//! OTLP export: each finished request timeline goes to a bounded queue; a background task
//! batches the queue into OTLP/HTTP JSON `POST {endpoint}/v1/traces` requests and retries a
//! failed batch with exponential backoff. A full queue drops the trace and counts it: export
//! never blocks or slows a request.

pub mod encode;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::traces::Trace;
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

    /// Queues a finished trace, or drops and counts it when the queue is full.
    pub fn submit(&self, trace: Trace) {
        if self.queue.try_send(trace).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The exporter's counters.
    pub fn counters(&self) -> &ExportCounters {
        &self.counters
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn run(
    url: http::Uri,
    mut rx: mpsc::Receiver<Trace>,
    counters: Arc<ExportCounters>,
    clock: Clock,
) {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    // Ends when the stack (the sender) is dropped and the queue is drained.
    while rx.recv_many(&mut batch, BATCH_SIZE).await > 0 {
        let body = Bytes::from(encode::encode(&batch, "portico").to_string());
        let count = batch.len() as u64;
        batch.clear();
        let outcome = send_with_retries(&client, &url, body, &counters, &clock).await;
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
    client: &HttpClient,
    url: &http::Uri,
    body: Bytes,
    counters: &ExportCounters,
    clock: &Clock,
) -> Result<(), String> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let reason = match send(client, url, body.clone()).await {
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
    client: &HttpClient,
    url: &http::Uri,
    body: Bytes,
) -> Result<http::StatusCode, String> {
    let request = http::Request::post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    // Read the (small) answer so the connection can be reused.
    let _ = http_body_util::BodyExt::collect(response.into_body()).await;
    Ok(status)
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
