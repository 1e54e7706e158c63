//! Standard executions and their histories written to the [`Store`], and read back at
//! start-up.
//!
//! An execution is written when it starts (before StartExecution answers) and again when it
//! stops, with its whole history. Intermediate transitions are not written: that would cost
//! a store write per state. So after a crash an execution that was still RUNNING comes back
//! FAILED with error `States.Runtime` and a cause saying the process stopped under it; it is
//! not re-run, because re-running would repeat Task invocations that may already have had
//! their effects. Express executions are not written (AWS keeps no history for them either).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::StateError;
use super::execution::{Entry, Execution, ExecutionStatus, Outcome};
use super::history::{History, HistoryEvent};
use super::service::{ServiceError, WorkflowService};
use crate::store::{Store, StoreError, StoreExt};

/// Store keys of execution records: `execution/{arn}`.
pub const EXECUTION_PREFIX: &str = "execution/";

/// The cause given to an execution that was running when the process stopped.
pub const INTERRUPTED_CAUSE: &str =
    "Portico stopped while this execution was running; it was not resumed";

#[derive(Debug, Serialize, Deserialize)]
struct StoredEvent {
    id: u64,
    previous_event_id: u64,
    timestamp_ms: u64,
    event_type: String,
    details: Option<(String, Value)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredExecution {
    arn: String,
    name: String,
    state_machine_arn: String,
    status: String,
    start_ms: u64,
    stop_ms: Option<u64>,
    input: Value,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace_header: Option<String>,
    history: Vec<StoredEvent>,
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn instant(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl StoredExecution {
    fn of(entry: &Entry) -> Self {
        let e = entry.snapshot();
        StoredExecution {
            arn: e.arn,
            name: e.name,
            state_machine_arn: e.state_machine_arn,
            status: e.status.as_str().to_owned(),
            start_ms: millis(e.start_date),
            stop_ms: e.stop_date.map(millis),
            input: e.input,
            output: e.output,
            error: e.error,
            cause: e.cause,
            trace_header: e.trace_header,
            history: entry
                .history
                .events()
                .into_iter()
                .map(|h| StoredEvent {
                    id: h.id,
                    previous_event_id: h.previous_event_id,
                    timestamp_ms: millis(h.timestamp),
                    event_type: h.event_type,
                    details: h.details,
                })
                .collect(),
        }
    }

    fn into_entry(self, key: &str) -> Result<Arc<Entry>, StoreError> {
        let status = ExecutionStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Backend(format!(
                "record `{key}` has an unknown execution status `{}`",
                self.status
            ))
        })?;
        let history = History::from_events(
            self.history
                .into_iter()
                .map(|h| HistoryEvent {
                    id: h.id,
                    previous_event_id: h.previous_event_id,
                    timestamp: instant(h.timestamp_ms),
                    event_type: h.event_type,
                    details: h.details,
                })
                .collect(),
        );
        let record = Execution {
            arn: self.arn,
            name: self.name,
            state_machine_arn: self.state_machine_arn,
            status,
            start_date: instant(self.start_ms),
            stop_date: self.stop_ms.map(instant),
            input: self.input,
            output: self.output,
            error: self.error,
            cause: self.cause,
            trace_header: self.trace_header,
        };
        Ok(Entry::new(record, history))
    }
}

/// Writes the execution as it now is.
pub(crate) async fn save(store: &dyn Store, entry: &Entry) -> Result<(), StoreError> {
    let record = StoredExecution::of(entry);
    let key = format!("{EXECUTION_PREFIX}{}", record.arn);
    store.put_json(&key, &record, None).await
}

/// Reads one stored execution (for replicas sharing a store: see `workflow/shared.rs`).
pub(crate) async fn load(store: &dyn Store, arn: &str) -> Result<Option<Arc<Entry>>, StoreError> {
    let key = format!("{EXECUTION_PREFIX}{arn}");
    match store.get_json::<StoredExecution>(&key).await? {
        Some(stored) => stored.into_entry(&key).map(Some),
        None => Ok(None),
    }
}

impl WorkflowService {
    /// Writes Standard executions to `store` from now on.
    pub fn attach_store(&self, store: Arc<dyn Store>) {
        let _ = self.store.set(store);
    }

    pub(crate) fn store(&self) -> Option<&Arc<dyn Store>> {
        self.store.get()
    }

    /// Takes in executions read back from the store, oldest first.
    pub(crate) fn adopt(&self, entries: Vec<Arc<Entry>>) {
        let mut inner = self.lock();
        for entry in entries {
            let arn = entry.snapshot().arn;
            if inner.executions.insert(arn.clone(), entry).is_none() {
                inner.order.push(arn);
            }
        }
    }

    /// Drops an execution whose start could not be recorded.
    pub(crate) fn forget(&self, arn: &str) {
        let mut inner = self.lock();
        if inner.executions.remove(arn).is_some() {
            inner.order.retain(|a| a != arn);
        }
    }

    /// Reads back every stored execution, marking those that were RUNNING as failed (see
    /// the module doc), and returns how many were loaded.
    pub async fn restore(&self) -> Result<usize, StoreError> {
        let Some(store) = self.store() else {
            return Ok(0);
        };
        // On a shared store a RUNNING execution may be running on another replica: it is
        // read through from the store on demand instead (see `workflow/shared.rs`).
        if store.is_shared() {
            return Ok(0);
        }
        let mut entries = Vec::new();
        for (key, bytes) in store.list(EXECUTION_PREFIX).await? {
            let stored: StoredExecution =
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Codec {
                    key: key.clone(),
                    source,
                })?;
            let entry = stored.into_entry(&key)?;
            if entry.snapshot().status == ExecutionStatus::Running {
                let failure = StateError::runtime(INTERRUPTED_CAUSE);
                entry.finish(self.clock().now(), Outcome::Failed(failure));
                save(store.as_ref(), &entry).await?;
            }
            entries.push(entry);
        }
        entries.sort_by_key(|e| e.snapshot().start_date);
        let count = entries.len();
        self.adopt(entries);
        Ok(count)
    }

    /// Writes a Standard execution, or undoes its start when the write fails.
    pub(crate) async fn save_started(&self, entry: &Arc<Entry>) -> Result<(), ServiceError> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        if let Err(e) = save(store.as_ref(), entry).await {
            self.forget(&entry.snapshot().arn);
            return Err(ServiceError::Internal(format!(
                "the execution could not be recorded: {e}"
            )));
        }
        Ok(())
    }
}
