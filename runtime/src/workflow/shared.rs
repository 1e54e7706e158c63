//! Executions on a store shared by several replicas: an execution started through one
//! replica is described (with its history) by any other, read through from the store,
//! which holds it from its start and again when it stops.

use super::execution::Execution;
use super::history::HistoryEvent;
use super::persist;
use super::service::{ServiceError, WorkflowService};

impl WorkflowService {
    /// DescribeExecution, also finding executions other replicas started.
    pub async fn describe_execution_anywhere(&self, arn: &str) -> Result<Execution, ServiceError> {
        match self.describe_execution(arn) {
            Err(ServiceError::ExecutionDoesNotExist(message)) => self
                .load_shared(arn)
                .await?
                .map(|entry| entry.snapshot())
                .ok_or(ServiceError::ExecutionDoesNotExist(message)),
            other => other,
        }
    }

    /// GetExecutionHistory, also finding executions other replicas started.
    pub async fn get_execution_history_anywhere(
        &self,
        arn: &str,
    ) -> Result<Vec<HistoryEvent>, ServiceError> {
        match self.get_execution_history(arn) {
            Err(ServiceError::ExecutionDoesNotExist(message)) => self
                .load_shared(arn)
                .await?
                .map(|entry| entry.history.events())
                .ok_or(ServiceError::ExecutionDoesNotExist(message)),
            other => other,
        }
    }

    async fn load_shared(
        &self,
        arn: &str,
    ) -> Result<Option<std::sync::Arc<super::execution::Entry>>, ServiceError> {
        let Some(store) = self.store().filter(|s| s.is_shared()) else {
            return Ok(None);
        };
        persist::load(store.as_ref(), arn)
            .await
            .map_err(|e| ServiceError::Internal(format!("the execution could not be read: {e}")))
    }
}
