//! The in-memory Step Functions service: state machines, executions and their histories.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{json, Value};

use super::definition::Definition;
use super::driver::{ExecutionInfo, Runner};
use super::execution::{self, Entry, Execution, ExecutionStatus, Outcome};
use super::history::{not_truncated, History, HistoryEvent};
use super::plan::Plan;
use super::task::TaskInvoker;
use super::trace::ExecutionTrace;
use super::validate;
use crate::clock::Clock;
use crate::observe;
use crate::store::Store;

const REGION_ACCOUNT: &str = "us-east-1:123456789012";
const DEFAULT_ROLE: &str = "arn:aws:iam::123456789012:role/portico";

/// Errors of the service API, named as AWS names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The definition is not valid ASL.
    #[error("{0}")]
    InvalidDefinition(String),
    /// A malformed ARN.
    #[error("{0}")]
    InvalidArn(String),
    /// A malformed name.
    #[error("{0}")]
    InvalidName(String),
    /// No such state machine.
    #[error("{0}")]
    StateMachineDoesNotExist(String),
    /// No such execution.
    #[error("{0}")]
    ExecutionDoesNotExist(String),
    /// The name is taken by a machine with a different definition.
    #[error("{0}")]
    StateMachineAlreadyExists(String),
    /// The execution name is taken.
    #[error("{0}")]
    ExecutionAlreadyExists(String),
    /// The input is not JSON.
    #[error("{0}")]
    InvalidExecutionInput(String),
    /// A request parameter is invalid.
    #[error("{0}")]
    Validation(String),
    /// The operation does not apply to this machine type.
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    /// The store could not record the change; nothing was changed.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// AWS's error code (`__type`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::InvalidDefinition(_) => "InvalidDefinition",
            ServiceError::InvalidArn(_) => "InvalidArn",
            ServiceError::InvalidName(_) => "InvalidName",
            ServiceError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            ServiceError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            ServiceError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            ServiceError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            ServiceError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            ServiceError::Validation(_) => "ValidationException",
            ServiceError::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            ServiceError::Internal(_) => "InternalFailure",
        }
    }
}

/// STANDARD or EXPRESS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineType {
    /// Long-running, with full history.
    Standard,
    /// Short-lived; may be started synchronously.
    Express,
}

impl MachineType {
    /// `STANDARD` / `EXPRESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }

    /// Parses `STANDARD` / `EXPRESS`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STANDARD" => Some(MachineType::Standard),
            "EXPRESS" => Some(MachineType::Express),
            _ => None,
        }
    }
}

/// A registered state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// `arn:aws:states:us-east-1:123456789012:stateMachine:NAME`.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The ASL JSON definition as given.
    pub definition: String,
    /// The role ARN.
    pub role_arn: String,
    /// STANDARD / EXPRESS.
    pub kind: MachineType,
    /// When it was created.
    pub creation_date: SystemTime,
    /// The compiled plan.
    pub plan: Arc<Plan>,
}

/// What CreateStateMachine needs.
#[derive(Debug, Clone)]
pub struct NewStateMachine {
    /// The name (1-80 chars of letters, digits, `-`, `_`).
    pub name: String,
    /// ASL JSON.
    pub definition: String,
    /// The role ARN (any string; not enforced).
    pub role_arn: Option<String>,
    /// STANDARD / EXPRESS.
    pub kind: MachineType,
}

#[derive(Default)]
pub(super) struct Inner {
    machines: BTreeMap<String, StateMachine>,
    pub(super) executions: BTreeMap<String, Arc<Entry>>,
    pub(super) order: Vec<String>,
}

/// The workflow service: state machines and executions, in memory.
pub struct WorkflowService {
    clock: Clock,
    invoker: Arc<dyn TaskInvoker>,
    inner: Mutex<Inner>,
    metrics: std::sync::OnceLock<Arc<crate::observe::metrics::Metrics>>,
    /// Where Standard executions are written (see [`super::persist`]).
    pub(super) store: std::sync::OnceLock<Arc<dyn Store>>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl WorkflowService {
    /// A service that calls functions through `invoker` and tells time with `clock`.
    pub fn new(clock: Clock, invoker: Arc<dyn TaskInvoker>) -> Arc<Self> {
        Arc::new(WorkflowService {
            clock,
            invoker,
            inner: Mutex::new(Inner::default()),
            metrics: Default::default(),
            store: Default::default(),
        })
    }

    /// Records AWS/States metrics into `metrics` from now on.
    pub fn attach_metrics(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clock executions run on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn compile(&self, definition: &str) -> Result<Plan, ServiceError> {
        let exists = |f: &str| self.invoker.exists(f);
        let def = Definition::from_json(definition).map_err(|e| {
            ServiceError::InvalidDefinition(format!("Invalid State Machine Definition: '{e}'"))
        })?;
        validate::check(&def, Some(&exists)).map_err(|e| {
            ServiceError::InvalidDefinition(format!("Invalid State Machine Definition: '{e}'"))
        })
    }

    /// CreateStateMachine. Creating the same name with the same definition is idempotent.
    pub fn create_state_machine(&self, req: NewStateMachine) -> Result<StateMachine, ServiceError> {
        if !valid_name(&req.name) {
            return Err(ServiceError::InvalidName(format!(
                "Invalid Name: '{}'",
                req.name
            )));
        }
        let plan = Arc::new(self.compile(&req.definition)?);
        let arn = format!("arn:aws:states:{REGION_ACCOUNT}:stateMachine:{}", req.name);
        let mut inner = self.lock();
        if let Some(existing) = inner.machines.get(&arn) {
            if existing.definition == req.definition && existing.kind == req.kind {
                return Ok(existing.clone());
            }
            return Err(ServiceError::StateMachineAlreadyExists(format!(
                "State Machine Already Exists: '{arn}'"
            )));
        }
        let sm = StateMachine {
            arn: arn.clone(),
            name: req.name,
            definition: req.definition,
            role_arn: req.role_arn.unwrap_or_else(|| DEFAULT_ROLE.to_string()),
            kind: req.kind,
            creation_date: self.clock.now(),
            plan,
        };
        inner.machines.insert(arn, sm.clone());
        Ok(sm)
    }

    /// DescribeStateMachine.
    pub fn describe_state_machine(&self, arn: &str) -> Result<StateMachine, ServiceError> {
        check_arn(arn, "stateMachine")?;
        self.lock().machines.get(arn).cloned().ok_or_else(|| {
            ServiceError::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
        })
    }

    /// ListStateMachines, ordered by name.
    pub fn list_state_machines(&self) -> Vec<StateMachine> {
        let mut v: Vec<_> = self.lock().machines.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// UpdateStateMachine; returns the update date.
    pub fn update_state_machine(
        &self,
        arn: &str,
        definition: Option<String>,
        role_arn: Option<String>,
    ) -> Result<SystemTime, ServiceError> {
        check_arn(arn, "stateMachine")?;
        let plan = match &definition {
            Some(d) => Some(Arc::new(self.compile(d)?)),
            None => None,
        };
        let mut inner = self.lock();
        let sm = inner.machines.get_mut(arn).ok_or_else(|| {
            ServiceError::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
        })?;
        if let (Some(d), Some(p)) = (definition, plan) {
            sm.definition = d;
            sm.plan = p;
        }
        if let Some(r) = role_arn {
            sm.role_arn = r;
        }
        Ok(self.clock.now())
    }

    /// DeleteStateMachine (idempotent, as AWS).
    pub fn delete_state_machine(&self, arn: &str) -> Result<(), ServiceError> {
        check_arn(arn, "stateMachine")?;
        self.lock().machines.remove(arn);
        Ok(())
    }

    fn prepare(
        &self,
        machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace: Option<ExecutionTrace>,
    ) -> Result<(Runner, Arc<Plan>, Arc<Entry>), ServiceError> {
        let sm = self.describe_state_machine(machine_arn)?;
        let name = name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if !valid_name(&name) {
            return Err(ServiceError::InvalidName(format!("Invalid Name: '{name}'")));
        }
        let input_text = input.unwrap_or_else(|| "{}".to_string());
        let input: Value = serde_json::from_str(&input_text).map_err(|e| {
            ServiceError::InvalidExecutionInput(format!("Invalid execution input: {e}"))
        })?;
        let arn = format!(
            "arn:aws:states:{REGION_ACCOUNT}:execution:{}:{name}",
            sm.name
        );
        let start = self.clock.now();
        let history = History::default();
        let record = Execution {
            arn: arn.clone(),
            name: name.clone(),
            state_machine_arn: sm.arn.clone(),
            status: ExecutionStatus::Running,
            start_date: start,
            stop_date: None,
            input: input.clone(),
            output: None,
            error: None,
            cause: None,
            trace_header: trace.as_ref().map(|t| t.header.clone()),
        };
        let entry = Entry::new(record, history.clone());
        if let Some(states) = trace.as_ref().and_then(|t| t.states.clone()) {
            let _ = entry.states.set(states);
        }
        {
            let mut inner = self.lock();
            if inner.executions.contains_key(&arn) {
                return Err(ServiceError::ExecutionAlreadyExists(format!(
                    "Execution Already Exists: '{arn}'"
                )));
            }
            inner.executions.insert(arn.clone(), entry.clone());
            inner.order.push(arn.clone());
        }
        observe::workflow_metrics::started(self.metrics.get(), &sm.arn);
        history.record(
            start,
            "ExecutionStarted",
            Some((
                "executionStartedEventDetails",
                json!({
                    "input": input.clone(), "inputDetails": not_truncated(), "roleArn": sm.role_arn,
                }),
            )),
        );
        let runner = Runner {
            clock: self.clock.clone(),
            invoker: self.invoker.clone(),
            history,
            info: Arc::new(ExecutionInfo {
                id: arn,
                name,
                input,
                start_time: start,
                role_arn: sm.role_arn.clone(),
                machine_id: sm.arn.clone(),
                machine_name: sm.name.clone(),
            }),
            trace: trace.map(Arc::new),
        };
        Ok((runner, sm.plan.clone(), entry))
    }

    /// StartExecution: runs in a spawned task; returns the execution ARN and start date.
    ///
    /// A Standard execution is in the store (when there is one) before this returns.
    pub async fn start_execution(
        &self,
        machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<(String, SystemTime), ServiceError> {
        self.start_execution_traced(machine_arn, name, input, None)
            .await
    }

    /// StartExecution under an X-Ray trace (its `traceHeader`).
    ///
    /// A Standard execution is in the store (when there is one) before this returns.
    pub async fn start_execution_traced(
        &self,
        machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace: Option<ExecutionTrace>,
    ) -> Result<(String, SystemTime), ServiceError> {
        let standard = self.describe_state_machine(machine_arn)?.kind == MachineType::Standard;
        let (runner, plan, entry) = self.prepare(machine_arn, name, input, trace)?;
        let store = self.store().filter(|_| standard).cloned();
        if store.is_some() {
            self.save_started(&entry).await?;
        }
        let snapshot = entry.snapshot();
        let (metrics, finished) = (self.metrics.get().cloned(), entry.clone());
        let handle = tokio::spawn(async move {
            execution::run(runner, plan, finished.clone()).await;
            observe::workflow_metrics::finished(metrics.as_ref(), &finished.snapshot());
            if let Some(store) = store {
                if let Err(e) = super::persist::save(store.as_ref(), &finished).await {
                    tracing::error!(error = %e, "finished execution not recorded");
                }
            }
        });
        *entry.abort.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle.abort_handle());
        Ok((snapshot.arn, snapshot.start_date))
    }

    /// StartSyncExecution: runs to the end and returns the finished execution.
    pub async fn start_sync_execution(
        &self,
        machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<Execution, ServiceError> {
        self.start_sync_execution_traced(machine_arn, name, input, None)
            .await
    }

    /// StartSyncExecution under an X-Ray trace (its `traceHeader`).
    pub async fn start_sync_execution_traced(
        &self,
        machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace: Option<ExecutionTrace>,
    ) -> Result<Execution, ServiceError> {
        let sm = self.describe_state_machine(machine_arn)?;
        if sm.kind != MachineType::Express {
            return Err(ServiceError::StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine".into(),
            ));
        }
        let (runner, plan, entry) = self.prepare(machine_arn, name, input, trace)?;
        execution::run(runner, plan, entry.clone()).await;
        let snapshot = entry.snapshot();
        observe::workflow_metrics::finished(self.metrics.get(), &snapshot);
        Ok(snapshot)
    }

    /// Waits until an execution is no longer RUNNING and returns it.
    pub async fn wait_for(&self, execution_arn: &str) -> Result<Execution, ServiceError> {
        let entry = self.entry(execution_arn)?;
        loop {
            let notified = entry.done.notified();
            let snap = entry.snapshot();
            if snap.status != ExecutionStatus::Running {
                return Ok(snap);
            }
            notified.await;
        }
    }

    fn entry(&self, arn: &str) -> Result<Arc<Entry>, ServiceError> {
        check_arn(arn, "execution")?;
        self.lock().executions.get(arn).cloned().ok_or_else(|| {
            ServiceError::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
        })
    }

    /// DescribeExecution.
    pub fn describe_execution(&self, arn: &str) -> Result<Execution, ServiceError> {
        Ok(self.entry(arn)?.snapshot())
    }

    /// StopExecution: aborts a running execution; returns the stop date once the stop is
    /// recorded.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<SystemTime, ServiceError> {
        let entry = self.entry(arn)?;
        let now = self.clock.now();
        if entry.finish(now, Outcome::Aborted { error, cause }) {
            observe::workflow_metrics::finished(self.metrics.get(), &entry.snapshot());
            if let Some(h) = entry.abort.lock().unwrap_or_else(|p| p.into_inner()).take() {
                h.abort();
            }
            if let Some(store) = self.store() {
                super::persist::save(store.as_ref(), &entry)
                    .await
                    .map_err(|e| {
                        ServiceError::Internal(format!("the stop was not recorded: {e}"))
                    })?;
            }
        }
        Ok(entry.snapshot().stop_date.unwrap_or(now))
    }

    /// ListExecutions of a machine, newest first, optionally filtered by status.
    pub fn list_executions(
        &self,
        machine_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<Execution>, ServiceError> {
        self.describe_state_machine(machine_arn)?;
        let inner = self.lock();
        Ok(inner
            .order
            .iter()
            .rev()
            .filter_map(|a| inner.executions.get(a))
            .map(|e| e.snapshot())
            .filter(|e| e.state_machine_arn == machine_arn)
            .filter(|e| status.is_none_or(|s| s == e.status))
            .collect())
    }

    /// GetExecutionHistory.
    pub fn get_execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, ServiceError> {
        Ok(self.entry(arn)?.history.events())
    }
}

fn check_arn(arn: &str, kind: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != kind {
        return Err(ServiceError::InvalidArn(format!("Invalid Arn: '{arn}'")));
    }
    Ok(())
}
