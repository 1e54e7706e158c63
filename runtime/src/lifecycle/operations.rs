//! The lifecycle operations on a running [`Stack`]: deploy, point a stage at a deployment,
//! and change, promote or discard its canary. Each one validates the whole new
//! state, saves the history, then swaps the new generation in — or changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::history::{CanarySetting, CanaryState, Deployment, History};
use super::live::{Env, Live};
use super::LifecycleError;
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
        let mut history = guard.clone();
        let entry = history.apis.entry(api.name.clone()).or_default();
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
            check_stage(api, stage)?;
            let state = entry.stages.entry(stage.clone()).or_default();
            match req.canary_percent {
                Some(percent) => {
                    crate::config::check_canary_percent(percent)
                        .map_err(LifecycleError::BadRequest)?;
                    state.canary = CanarySetting::Set(CanaryState {
                        deployment_id: id,
                        percent_traffic: percent,
                        stage_variable_overrides: req.canary_variables,
                    });
                }
                None => state.deployment_id = Some(id),
            }
        } else if req.canary_percent.is_some() {
            return Err(LifecycleError::BadRequest(
                "a canary needs a stage (stageName)".into(),
            ));
        }
        self.commit(&mut guard, history, &live).await?;
        Ok(deployment)
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
        let mut history = guard.clone();
        let entry = history.apis.entry(found.name.clone()).or_default();
        let known = |id: &str| entry.deployment(id).is_some();
        let canary = match &entry.stages.get(stage).map(|s| &s.canary) {
            Some(CanarySetting::Set(c)) => Some(c.clone()),
            Some(CanarySetting::Discarded) => None,
            _ => config_canary.map(|c| CanaryState {
                deployment_id: c.deployment,
                percent_traffic: c.percent,
                stage_variable_overrides: c.stage_variables,
            }),
        };
        let no_canary = || LifecycleError::BadRequest(format!("stage `{stage}` has no canary"));
        let new_canary;
        let mut pointer = None;
        match change {
            StageChange::Deployment(id) => {
                if !known(&id) {
                    return Err(LifecycleError::DeploymentNotFound);
                }
                pointer = Some(id);
                new_canary = None;
            }
            StageChange::CanaryPercent(percent) => {
                crate::config::check_canary_percent(percent).map_err(LifecycleError::BadRequest)?;
                let mut c = canary.ok_or_else(no_canary)?;
                c.percent_traffic = percent;
                new_canary = Some(CanarySetting::Set(c));
            }
            StageChange::CanaryVariable(name, value) => {
                let mut c = canary.ok_or_else(no_canary)?;
                c.stage_variable_overrides.insert(name, value);
                new_canary = Some(CanarySetting::Set(c));
            }
            StageChange::Promote => {
                pointer = Some(canary.ok_or_else(no_canary)?.deployment_id);
                new_canary = Some(CanarySetting::Discarded);
            }
            // Idempotent, as AWS's promote recipe removes the canary after copying its id.
            StageChange::Discard => new_canary = Some(CanarySetting::Discarded),
        }
        let state = entry.stages.entry(stage.to_owned()).or_default();
        if let Some(id) = pointer {
            state.deployment_id = Some(id);
        }
        if let Some(c) = new_canary {
            state.canary = c;
        }
        self.commit(&mut guard, history, &live).await?;
        let s = check_stage(found, stage)?;
        Ok(view(s, guard.api(&found.name)))
    }

    /// An API's deployments, oldest first, and its stages.
    pub async fn deployments(&self, api: &str) -> Result<DeploymentList, LifecycleError> {
        let history = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
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
        let history = self.inner.changes.lock().await;
        let live = self.inner.live();
        let found = find_api(&live.config, api)?;
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

    /// Validates `history` against the running config, saves it, and swaps it in.
    async fn commit(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, History>,
        history: History,
        live: &Arc<Live>,
    ) -> Result<(), LifecycleError> {
        let (next, _) = self.build_live(live.config.clone(), &history, Some(live))?;
        history.save(&self.inner.data_dir).map_err(|e| {
            tracing::error!(error = %e, "deployment history not saved");
            LifecycleError::Storage(e)
        })?;
        **guard = history;
        self.inner.swap(next);
        Ok(())
    }
}

fn find_api<'a>(config: &'a Config, id_or_name: &str) -> Result<&'a Api, LifecycleError> {
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

fn view(stage: &crate::config::Stage, past: Option<&super::history::ApiHistory>) -> StageView {
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
