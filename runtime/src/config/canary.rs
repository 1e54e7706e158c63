//! `canary = { deployment = "ID", percent = 10.0, stage_variables = { ... } }` on a stage.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;

/// `[apis.NAME.stages.STAGE] canary = { ... }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySection {
    /// The deployment id (from `portico deployments API`) the canary serves.
    pub deployment: Spanned<String>,
    /// The share of the stage's requests the canary serves, 0.0 to 100.0.
    pub percent: Spanned<f64>,
    /// Stage variables the canary sees instead of the stage's own.
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
}

/// A stage's canary from config, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    /// The deployment the canary serves.
    pub deployment: String,
    /// The share of requests it serves, 0.0 to 100.0.
    pub percent: f64,
    /// Stage-variable overrides.
    pub stage_variables: BTreeMap<String, String>,
    /// Where `deployment` is written, for errors found once the deployment history is known.
    pub at: super::ConfigError,
}

/// Checks the percentage is within 0..=100.
pub fn check_percent(percent: f64) -> Result<(), String> {
    if percent.is_finite() && (0.0..=100.0).contains(&percent) {
        Ok(())
    } else {
        Err(format!(
            "canary percent {percent} is out of range: it must be between 0.0 and 100.0"
        ))
    }
}

pub(super) fn resolve(
    api: &str,
    stage: &str,
    section: &Spanned<CanarySection>,
    errors: &mut Errors<'_>,
) -> Option<CanaryConfig> {
    let section = section.get_ref();
    let mut ok = true;
    if let Err(e) = check_percent(*section.percent.get_ref()) {
        errors.at(
            Some(section.percent.span().start),
            format!("api `{api}` stage `{stage}`: {e}"),
        );
        ok = false;
    }
    let id = section.deployment.get_ref();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.at(
            Some(section.deployment.span().start),
            format!("api `{api}` stage `{stage}`: canary deployment `{id}` is not a deployment id"),
        );
        ok = false;
    }
    let at = errors.location(section.deployment.span().start);
    ok.then(|| CanaryConfig {
        deployment: id.clone(),
        percent: *section.percent.get_ref(),
        stage_variables: section.stage_variables.clone(),
        at,
    })
}
