//! Functions that are external programs speaking the Lambda Runtime API: one process is one
//! instance. Its cold start is the real process start (until its first `/next`), its
//! stdout/stderr go to its log stream, a crash fails its invocation and discards it, and
//! dropping the instance stops the process.

mod api;
mod process;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, watch};

use super::handler::ErasedHandler;
use super::instance::{Factory, InitContext};
use super::{Context, FunctionError, Payload};
use api::{ApiState, InitSignal, Pending};
use process::LineSink;

/// Lambda gives a runtime 10 seconds to initialize.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Starts a process per instance.
pub(crate) struct ExternalFactory {
    command: Vec<String>,
}

impl ExternalFactory {
    pub(crate) fn new(command: &[String]) -> Self {
        ExternalFactory {
            command: command.to_vec(),
        }
    }
}

#[async_trait]
impl Factory for ExternalFactory {
    async fn create(&self, init: &InitContext) -> Result<Arc<dyn ErasedHandler>, FunctionError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| start_failed(&format!("cannot open the Runtime API listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| start_failed(&e.to_string()))?;
        let (queue, rx) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let state = Arc::new(ApiState {
            queue: tokio::sync::Mutex::new(rx),
            in_flight: Mutex::new(HashMap::new()),
            init: Mutex::new(Some(init_tx)),
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, api::router(state)).await;
        });
        let server = AbortOnDrop(server);
        let sink = LineSink::new(init);
        let running = process::spawn(&self.command, addr, init, sink.clone())?;
        let mut exit = running.exit.clone();
        let outcome = tokio::time::timeout(INIT_LIMIT, async {
            tokio::select! {
                signal = init_rx => match signal {
                    Ok(InitSignal::Ready) => Ok(()),
                    Ok(InitSignal::Failed(err)) => Err(err),
                    Err(_) => Err(FunctionError::exited("the Runtime API stopped")),
                },
                status = exit.wait_for(Option::is_some) => Err(FunctionError::exited(
                    status.ok().and_then(|s| s.clone()).as_deref().unwrap_or("unknown status"),
                )),
            }
        })
        .await
        .unwrap_or_else(|_| {
            Err(FunctionError::unhandled(
                "Runtime.InitTimeout",
                format!(
                    "The runtime did not ask for an invocation within {}s",
                    INIT_LIMIT.as_secs()
                ),
            ))
        });
        outcome?;
        Ok(Arc::new(ExternalHandler {
            queue,
            exit: running.exit,
            _kill: running.kill,
            _server: server,
            sink,
        }))
    }
}

fn start_failed(detail: &str) -> FunctionError {
    FunctionError::unhandled("Runtime.InvalidEntrypoint", detail.to_owned())
}

/// One running process, invoked through its Runtime API.
struct ExternalHandler {
    queue: mpsc::Sender<Pending>,
    exit: watch::Receiver<Option<String>>,
    // Dropping these stops the process and its Runtime API listener.
    _kill: oneshot::Sender<()>,
    _server: AbortOnDrop,
    sink: Arc<LineSink>,
}

#[async_trait]
impl ErasedHandler for ExternalHandler {
    async fn call(&self, event: Payload, ctx: Context) -> Result<Payload, FunctionError> {
        let body = event.into_bytes().map_err(FunctionError::bad_event)?;
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request_id: ctx.request_id.clone(),
            deadline_ms: ctx.deadline,
            invoked_arn: ctx.invoked_function_arn.clone(),
            trace_id: ctx.xray_trace_id.clone(),
            client_context: ctx.client_context.as_ref().map(ToString::to_string),
            body,
            reply,
        };
        self.sink.begin();
        let mut exit = self.exit.clone();
        let result = async {
            self.queue
                .send(pending)
                .await
                .map_err(|_| FunctionError::exited("the runtime is gone"))?;
            tokio::select! {
                answer = answer => answer.unwrap_or_else(|_| Err(FunctionError::exited("no answer"))),
                status = exit.wait_for(Option::is_some) => Err(FunctionError::exited(
                    status.ok().and_then(|s| s.clone()).as_deref().unwrap_or("unknown status"),
                )),
            }
        }
        .await;
        // Lines the process printed while serving belong to this invocation's log.
        for line in self.sink.end() {
            tracing::info!("{line}");
        }
        result.map(Payload::Raw)
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
