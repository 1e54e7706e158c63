//! One change to a stage's state in an API's history: a new deployment pointer, or a canary
//! change, checked against what the history and the config hold.

use super::history::{ApiHistory, CanarySetting, CanaryState};
use super::operations::StageChange;
use super::LifecycleError;

/// Applies `change` to the stage's state in `entry`.
pub(super) fn apply(
    entry: &mut ApiHistory,
    stage: &str,
    config_canary: Option<crate::config::CanaryConfig>,
    change: StageChange,
) -> Result<(), LifecycleError> {
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
            if entry.deployment(&id).is_none() {
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
    Ok(())
}
