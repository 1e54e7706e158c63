//! Deleting a deployment (API Gateway's DeleteDeployment): the only way the history shrinks,
//! as in AWS. A deployment a stage or a canary serves cannot be deleted.

use super::operations::{find_api, view};
use super::{stored, LifecycleError};
use crate::stack::Stack;

impl Stack {
    /// Deletes deployment `id` of `api`; refuses one a stage or a canary serves.
    pub async fn delete_deployment(&self, api: &str, id: &str) -> Result<(), LifecycleError> {
        let mut guard = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
        let store = self.inner.store.clone();
        let delete = async {
            let mut history = self.fresh(&guard, &found.name).await?;
            let entry = history.apis.entry(found.name.clone()).or_default();
            let index = entry
                .deployments
                .iter()
                .position(|d| d.id == id)
                .ok_or(LifecycleError::DeploymentNotFound)?;
            // What each stage serves, as GetStage shows it (its canary from the API or the file).
            for stage in found.stages.iter().map(|s| view(s, Some(entry))) {
                if stage.deployment_id.as_deref() == Some(id) {
                    return Err(LifecycleError::BadRequest(
                        "Active stages pointing to this deployment must be moved or deleted".into(),
                    ));
                }
                if stage.canary_settings.is_some_and(|c| c.deployment_id == id) {
                    return Err(LifecycleError::BadRequest(
                        "Active stages with canary settings pointing to this deployment must \
                         be moved or deleted"
                            .into(),
                    ));
                }
            }
            entry.deployments.remove(index);
            self.commit(&mut guard, history, &found.name, &live).await
        };
        stored::with_lease(&*store, &self.inner.clock, &found.name, delete).await
    }
}
