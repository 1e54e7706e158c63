//! The Amazon States Language engine: definitions (ASL JSON and the TOML form), validation,
//! the checked plan, the pure step function and its async driver, executions and history.

pub mod choice;
pub mod convert;
pub mod definition;
pub mod driver;
pub mod error;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod jsonata;
pub mod paths;
pub mod persist;
pub mod plan;
pub mod service;
mod shared;
pub mod step;
pub mod task;
pub mod template;
pub mod timestamp;
pub mod trace;
pub mod validate;

pub use definition::Definition;
pub use error::{DefinitionError, Diagnostic, StateError};
pub use execution::{Execution, ExecutionStatus};
pub use history::HistoryEvent;
pub use plan::Plan;
pub use service::{MachineType, NewStateMachine, ServiceError, StateMachine, WorkflowService};
pub use task::{NoFunctions, TaskFailure, TaskInvoker};
pub use trace::ExecutionTrace;
pub use validate::{validate_definition, ValidationResult};
