//! Workflow Task states calling the stack's functions.

use std::sync::Weak;

use super::StackInner;
use crate::invoke::{Invocation, Payload};
use crate::workflow::{TaskFailure, TaskInvoker};

/// Lets workflow Task states call the stack's functions.
pub(super) struct StackTasks(pub(super) Weak<StackInner>);

#[async_trait::async_trait]
impl TaskInvoker for StackTasks {
    async fn invoke(
        &self,
        function: &str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, TaskFailure> {
        self.invoke_traced(function, payload, None).await
    }

    async fn invoke_traced(
        &self,
        function: &str,
        payload: serde_json::Value,
        trace_header: Option<String>,
    ) -> Result<serde_json::Value, TaskFailure> {
        let Some(stack) = self.0.upgrade() else {
            return Err(TaskFailure {
                error: "States.Runtime".into(),
                cause: "the stack is shutting down".into(),
            });
        };
        let Some(f) = stack.function(function) else {
            return Err(crate::workflow::task::missing_function(function));
        };
        let mut invocation = Invocation::new(Payload::Json(payload));
        invocation.trace_id = trace_header;
        let outcome = f.invoke(invocation).await;
        match outcome.result {
            Ok(result) => result.into_value().map_err(|e| TaskFailure {
                error: "Runtime.MarshalError".into(),
                cause: format!("Unable to marshal response: {e}"),
            }),
            Err(err) => Err(TaskFailure {
                cause: err.to_json().to_string(),
                error: err.error_type,
            }),
        }
    }

    fn exists(&self, function: &str) -> bool {
        self.0
            .upgrade()
            .is_some_and(|s| s.live().functions.contains_key(function))
    }
}
