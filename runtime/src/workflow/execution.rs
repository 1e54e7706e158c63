//! Execution records and how one execution is run to completion.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::driver::Runner;
use super::error::{names, StateError};
use super::history::{not_truncated, History};
use super::plan::Plan;

/// Execution status as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Finished with output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran past the machine's TimeoutSeconds.
    TimedOut,
    /// Stopped by StopExecution.
    Aborted,
}

impl ExecutionStatus {
    /// `RUNNING`, `SUCCEEDED`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Parses `RUNNING`, `SUCCEEDED`, ...
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::TimedOut,
            Self::Aborted,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// An execution as DescribeExecution returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// `arn:aws:states:us-east-1:123456789012:execution:MACHINE:NAME`.
    pub arn: String,
    /// The execution name.
    pub name: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// Current status.
    pub status: ExecutionStatus,
    /// When it started.
    pub start_date: SystemTime,
    /// When it stopped.
    pub stop_date: Option<SystemTime>,
    /// Input JSON.
    pub input: Value,
    /// Output JSON on success.
    pub output: Option<Value>,
    /// Error name on failure.
    pub error: Option<String>,
    /// Cause text on failure.
    pub cause: Option<String>,
    /// The X-Ray trace header it was started with (DescribeExecution's `traceHeader`).
    pub trace_header: Option<String>,
}

/// A live execution: its record, history and the handle to stop it.
pub(crate) struct Entry {
    pub record: Mutex<Execution>,
    pub history: History,
    pub abort: Mutex<Option<tokio::task::AbortHandle>>,
    pub done: tokio::sync::Notify,
    /// Where its states are recorded, told when it ends (the OTLP export may wait for that).
    pub states: std::sync::OnceLock<Arc<crate::observe::traces::StateTimeline>>,
}

impl Entry {
    pub fn new(record: Execution, history: History) -> Arc<Entry> {
        Arc::new(Entry {
            record: Mutex::new(record),
            history,
            abort: Mutex::new(None),
            done: tokio::sync::Notify::new(),
            states: std::sync::OnceLock::new(),
        })
    }

    pub fn snapshot(&self) -> Execution {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Marks a RUNNING execution finished; returns false if it had already stopped.
    pub fn finish(&self, at: SystemTime, outcome: Outcome) -> bool {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        if r.status != ExecutionStatus::Running {
            return false;
        }
        r.stop_date = Some(at);
        let (ty, details) = match outcome {
            Outcome::Succeeded(out) => {
                r.status = ExecutionStatus::Succeeded;
                let d = json!({"output": out.clone(), "outputDetails": not_truncated()});
                r.output = Some(out);
                ("ExecutionSucceeded", ("executionSucceededEventDetails", d))
            }
            Outcome::Failed(e) => {
                r.status = ExecutionStatus::Failed;
                // A Fail state without Error/Cause leaves them out, as AWS does.
                let mut d = serde_json::Map::new();
                if !e.error.is_empty() {
                    d.insert("error".into(), json!(e.error));
                    r.error = Some(e.error);
                }
                if !e.cause.is_empty() {
                    d.insert("cause".into(), json!(e.cause));
                    r.cause = Some(e.cause);
                }
                let d = Value::Object(d);
                ("ExecutionFailed", ("executionFailedEventDetails", d))
            }
            Outcome::TimedOut => {
                r.status = ExecutionStatus::TimedOut;
                r.error = Some(names::TIMEOUT.into());
                r.cause = Some(String::new());
                (
                    "ExecutionTimedOut",
                    (
                        "executionTimedOutEventDetails",
                        json!({"error": names::TIMEOUT, "cause": ""}),
                    ),
                )
            }
            Outcome::Aborted { error, cause } => {
                r.status = ExecutionStatus::Aborted;
                let mut d = serde_json::Map::new();
                if let Some(e) = &error {
                    d.insert("error".into(), json!(e));
                }
                if let Some(c) = &cause {
                    d.insert("cause".into(), json!(c));
                }
                r.error = error;
                r.cause = cause;
                (
                    "ExecutionAborted",
                    ("executionAbortedEventDetails", Value::Object(d)),
                )
            }
        };
        let timeline = self.states.get().map(|states| {
            let ended = crate::observe::trace_states::ExecutionEnd {
                arn: r.arn.clone(),
                status: r.status.as_str(),
                error: r.error.clone(),
                cause: r.cause.clone(),
            };
            (states, ended)
        });
        drop(r);
        self.history.record(at, ty, Some(details));
        if let Some((states, ended)) = timeline {
            states.end(&ended);
        }
        self.done.notify_waiters();
        true
    }
}

/// How an execution ended.
pub(crate) enum Outcome {
    Succeeded(Value),
    Failed(StateError),
    TimedOut,
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// Runs an execution to the end and records its outcome.
pub(crate) async fn run(runner: Runner, plan: Arc<Plan>, entry: Arc<Entry>) {
    let input = runner.info.input.clone();
    let work = runner.run_plan(&plan, input, serde_json::Map::new());
    let outcome = match plan.timeout_seconds {
        Some(t) => match runner.clock.timeout(Duration::from_secs(t), work).await {
            Ok(r) => r,
            Err(_) => {
                entry.finish(runner.clock.now(), Outcome::TimedOut);
                return;
            }
        },
        None => work.await,
    };
    let outcome = match outcome {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => Outcome::Failed(e),
    };
    entry.finish(runner.clock.now(), outcome);
}
