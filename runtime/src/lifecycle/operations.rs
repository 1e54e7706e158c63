//! The lifecycle operations on a running [`Stack`]: deploy, point a stage at a deployment,
//! and change, promote or discard its canary (deleting a deployment is in `delete`). Each one
//! validates the whole new state, saves the API's record in the store, then swaps the new
//! generation in — or changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::history::{CanarySetting, CanaryState, Deployment, History};
use super::live::{Env, Live};
use super::{stored, LifecycleError};
use crate::config::{Api, Config};
use crate::stack::Stack;

/// A deployment request.
#[derive(Debug, Clone, Default)]
pub struct NewDeployment {
    /// The stage to point at the new deployment (or to give it as canary), if any.
    pub stage: Option<String>,
    /// Free text.
    pub description: String,
    /// With `stage`: make the deployment the stage's canary with this share of traffic.
    pub canary_percent: Option<f64>,
    /// The canary's stage-variable overrides.
    pub canary_variables: BTreeMap<String, String>,
}

/// A change to a stage.
#[derive(Debug, Clone)]
pub enum StageChange {
    /// Serve this deployment (a rollback, or a roll forward).
    Deployment(String),
    /// Change the canary's share of traffic.
    CanaryPercent(f64),
    /// Set one canary stage-variable override.
    CanaryVariable(String, String),
    /// The canary's deployment becomes the stage's; the canary ends.
    Promote,
    /// The canary ends; the stage serves what it served.
    Discard,
}

/// A stage as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageView {
    /// The stage's name.
    pub stage_name: String,
    /// The deployment it serves (absent: the live file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// Its variables.
    pub variables: BTreeMap<String, String>,
    /// Its canary, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_settings: Option<CanaryState>,
}

/// An API's deployments and which stages serve each.
#[derive(Debug, Clone)]
pub struct DeploymentList {
    /// Oldest first.
    pub deployments: Vec<Deployment>,
    /// The stages, with what they serve.
    pub stages: Vec<StageView>,
}

impl Stack {
    /// Snapshots an API's definition as a new deployment, optionally pointing a stage (or its
    /// canary) at it.
    pub async fn deploy(
        &self,
        api: &str,
        req: NewDeployment,
    ) -> Result<Deployment, LifecycleError> {
        let mut guard = self.inner.changes.lock().await;
        let live = self.inner.live();
        let api = find_api(&live.config, api)?;
        let definition =
            super::plan::snapshot(&live.config, &api.name).map_err(LifecycleError::BadRequest)?;
        if let Some(stage) = &req.stage {
            check_stage(api, stage)?;
        } else if req.canary_percent.is_some() {
            return Err(LifecycleError::BadRequest(
                "a canary needs a stage (stageName)".into(),
            ));
        }
        if let Some(percent) = req.canary_percent {
            crate::config::check_canary_percent(percent).map_err(LifecycleError::BadRequest)?;
        }
        let store = self.inner.store.clone();
        let change = async {
            let mut history = self.fresh(&guard, &api.name).await?;
            let entry = history.apis.entry(api.name.clone()).or_default();
            // Read under the API's lease, so no replica can pick the same id meanwhile.
            let mut id = crate::observe::ids::hex(6);
            while entry.deployment(&id).is_some() {
                id = crate::observe::ids::hex(6);
            }
            let deployment = Deployment {
                id: id.clone(),
                created_date: (self.inner.clock.now_millis() / 1000) as i64,
                description: req.description,
                definition,
            };
            entry.deployments.push(deployment.clone());
            if let Some(stage) = &req.stage {
                let state = entry.stages.entry(stage.clone()).or_default();
                match req.canary_percent {
                    Some(percent) => {
                        state.canary = CanarySetting::Set(CanaryState {
                            deployment_id: id,
                            percent_traffic: percent,
                            stage_variable_overrides: req.canary_variables,
                        });
                    }
                    None => state.deployment_id = Some(id),
                }
            }
            self.commit(&mut guard, history, &api.name, &live).await?;
            Ok(deployment)
        };
        stored::with_lease(&*store, &self.inner.clock, &api.name, change).await
    }

    /// Changes what a stage serves.
    pub async fn change_stage(
        &self,
        api: &str,
        stage: &str,
        change: StageChange,
    ) -> Result<StageView, LifecycleError> {
        let mut guard = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
        let config_canary = check_stage(found, stage)?.canary.clone();
        let store = self.inner.store.clone();
        let apply = async {
            let mut history = self.fresh(&guard, &found.name).await?;
            let entry = history.apis.entry(found.name.clone()).or_default();
            super::stage_change::apply(entry, stage, config_canary, change)?;
            self.commit(&mut guard, history, &found.name, &live).await?;
            let s = check_stage(found, stage)?;
            Ok(view(s, guard.api(&found.name)))
        };
        stored::with_lease(&*store, &self.inner.clock, &found.name, apply).await
    }

    /// An API's deployments, oldest first, and its stages.
    pub async fn deployments(&self, api: &str) -> Result<DeploymentList, LifecycleError> {
        self.refresh_deployments_if_due().await;
        let history = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
        let history = self.current(&history, &found.name).await;
        let past = history.api(&found.name);
        let mut stages = Vec::new();
        for stage in &found.stages {
            stages.push(view(stage, past));
        }
        Ok(DeploymentList {
            deployments: past.map(|p| p.deployments.clone()).unwrap_or_default(),
            stages,
        })
    }

    /// One stage of an API.
    pub async fn stage(&self, api: &str, stage: &str) -> Result<StageView, LifecycleError> {
        self.refresh_deployments_if_due().await;
        let history = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
        let history = self.current(&history, &found.name).await;
        let s = check_stage(found, stage)?;
        Ok(view(s, history.api(&found.name)))
    }

    pub(super) fn build_live(
        &self,
        config: Arc<Config>,
        history: &History,
        previous: Option<&Live>,
    ) -> Result<(Live, Vec<String>), LifecycleError> {
        let env = Env {
            registry: &self.inner.registry,
            logs: &self.inner.logs,
            clock: &self.inner.clock,
            metrics: &self.inner.metrics,
            events: Some(&self.inner.store).filter(|s| s.durable()),
        };
        Live::build(config, history, &env, previous).map_err(|errors| {
            tracing::error!("change rejected, the running config is kept:\n{errors}");
            LifecycleError::Invalid(errors)
        })
    }

    /// The history to change: the running one, with the API's record read again from a
    /// shared store (another replica may have changed it).
    pub(super) async fn fresh(
        &self,
        current: &History,
        api: &str,
    ) -> Result<History, LifecycleError> {
        let mut history = current.clone();
        if self.inner.store.is_shared() {
            let record = stored::load_api(&*self.inner.store, api)
                .await
                .map_err(|e| LifecycleError::Storage(e.to_string()))?;
            if let Some(record) = record {
                history.apis.insert(api.to_owned(), record);
            }
        }
        Ok(history)
    }

    /// For reads: the API's record as the store holds it now, even before this replica's
    /// next refresh; this replica's copy while the store cannot answer.
    async fn current(&self, local: &History, api: &str) -> History {
        match self.fresh(local, api).await {
            Ok(history) => history,
            Err(e) => {
                tracing::warn!(error = %e, api, "deployments read from this replica's copy");
                local.clone()
            }
        }
    }

    /// Validates `history` against the running config, saves `api`'s record in the store,
    /// and swaps it in.
    pub(super) async fn commit(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, History>,
        history: History,
        api: &str,
        live: &Arc<Live>,
    ) -> Result<(), LifecycleError> {
        let (next, _) = self.build_live(live.config.clone(), &history, Some(live))?;
        let record = history.apis.get(api).cloned().unwrap_or_default();
        let version = stored::save_api(&*self.inner.store, api, &record)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "deployment history not saved");
                LifecycleError::Storage(e.to_string())
            })?;
        if let Some(version) = version {
            self.inner.deployment_sync.wrote(version);
        }
        **guard = history;
        self.inner.swap(next);
        Ok(())
    }
}

pub(super) fn find_api<'a>(
    config: &'a Config,
    id_or_name: &str,
) -> Result<&'a Api, LifecycleError> {
    config
        .apis
        .iter()
        .find(|a| a.id == id_or_name || a.name == id_or_name)
        .ok_or_else(|| LifecycleError::ApiNotFound(id_or_name.to_owned()))
}

fn check_stage<'a>(api: &'a Api, stage: &str) -> Result<&'a crate::config::Stage, LifecycleError> {
    api.stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or(LifecycleError::StageNotFound)
}

pub(super) fn view(
    stage: &crate::config::Stage,
    past: Option<&super::history::ApiHistory>,
) -> StageView {
    let state = past.and_then(|p| p.stages.get(&stage.name));
    let canary_settings = match state.map(|s| &s.canary) {
        Some(CanarySetting::Set(c)) => Some(c.clone()),
        Some(CanarySetting::Discarded) => None,
        _ => stage.canary.as_ref().map(|c| CanaryState {
            deployment_id: c.deployment.clone(),
            percent_traffic: c.percent,
            stage_variable_overrides: c.stage_variables.clone(),
        }),
    };
    StageView {
        stage_name: stage.name.clone(),
        deployment_id: state.and_then(|s| s.deployment_id.clone()),
        variables: stage.variables.clone(),
        canary_settings,
    }
}
