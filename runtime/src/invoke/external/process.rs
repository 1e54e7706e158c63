//! Starting a runtime process with the environment real Lambda sets, watching it exit, and
//! routing its stdout/stderr to its log stream.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{oneshot, watch};

use crate::invoke::instance::InitContext;
use crate::invoke::{FunctionError, REGION};
use crate::observe::logs::LogGroup;
use crate::Clock;

/// A started process: its exit status (once it exits) and the switch that stops it.
pub(super) struct Running {
    pub exit: watch::Receiver<Option<String>>,
    pub kill: oneshot::Sender<()>,
}

pub(super) fn spawn(
    command: &[String],
    api: SocketAddr,
    init: &InitContext,
    sink: Arc<LineSink>,
) -> Result<Running, FunctionError> {
    let program = command.first().map(String::as_str).unwrap_or_default();
    let config = &init.config;
    let handler = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let task_root = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&command[1..])
        // Real Lambda starts the runtime with its own environment, not the host's.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.function_name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", &config.version)
        .env("AWS_LAMBDA_LOG_GROUP_NAME", &config.log_group)
        .env("AWS_LAMBDA_LOG_STREAM_NAME", &config.log_stream)
        .env(
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            if init.provisioned {
                "provisioned-concurrency"
            } else {
                "on-demand"
            },
        )
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("LAMBDA_TASK_ROOT", &task_root)
        .env("_HANDLER", handler)
        .envs(init.environment.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        FunctionError::unhandled(
            "Runtime.InvalidEntrypoint",
            format!("cannot start `{program}`: {e}"),
        )
    })?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_lines(out, sink.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_lines(err, sink));
    }
    let (exit_tx, exit) = watch::channel(None);
    let (kill, killed) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            // Sent or dropped: the instance is gone, stop the process.
            _ = killed => {
                let _ = child.kill().await;
                child.wait().await
            }
        };
        let text = match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        };
        let _ = exit_tx.send(Some(text));
    });
    Ok(Running { exit, kill })
}

async fn read_lines(stream: impl AsyncRead + Unpin, sink: Arc<LineSink>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        sink.push(line);
    }
}

/// Where a process's output lines go: into the current invocation's log record while one
/// runs, straight to the instance's log stream otherwise (init, or between invocations).
pub(super) struct LineSink {
    state: Mutex<(bool, Vec<String>)>,
    group: Arc<LogGroup>,
    stream: Arc<str>,
    clock: Clock,
}

impl LineSink {
    pub(super) fn new(init: &InitContext) -> Arc<Self> {
        Arc::new(LineSink {
            state: Mutex::new((false, Vec::new())),
            group: init.log_group.clone(),
            stream: init.log_stream.clone(),
            clock: init.clock.clone(),
        })
    }

    fn push(&self, line: String) {
        let mut state = self.lock();
        if state.0 {
            state.1.push(line);
        } else {
            drop(state);
            self.group
                .push_line(&self.stream, self.clock.now_millis(), line);
        }
    }

    pub(super) fn begin(&self) {
        self.lock().0 = true;
    }

    pub(super) fn end(&self) -> Vec<String> {
        let mut state = self.lock();
        state.0 = false;
        std::mem::take(&mut state.1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, Vec<String>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
