//! Which definition each stage serves: the live file, the deployment its pointer names, and
//! the canary's deployment with its stage-variable overrides.

use std::collections::{BTreeMap, HashMap};

use super::history::{ApiHistory, CanarySetting, Deployment, History};
use crate::config::{Api, Config, ConfigError, ConfigErrors, Stage};
use crate::invoke::Registry;

/// The APIs to mount: every (API, definition) pair with the stages that serve it.
pub(crate) struct Plan {
    /// Mounted for every request.
    pub main: Vec<Api>,
    /// Canary sides: each API has one stage, with the share of its requests it serves.
    pub canaries: Vec<(Api, f64)>,
}

/// The TOML text of `[apis.NAME]` in the config's file, for a deployment to keep.
pub fn snapshot(config: &Config, api: &str) -> Result<String, String> {
    let table: toml::Table = toml::from_str(&config.source).map_err(|e| e.to_string())?;
    let section = table
        .get("apis")
        .and_then(|apis| apis.get(api))
        .and_then(toml::Value::as_table)
        .ok_or_else(|| format!("no API named `{api}` in {}", config.file))?;
    toml::to_string(section).map_err(|e| e.to_string())
}

/// Resolves a deployment's snapshot of `api` against the rest of the live file (its functions,
/// workflows and the API's live stages), with every error the snapshot has.
pub(crate) fn resolve_snapshot(
    config: &Config,
    registry: &Registry,
    api: &Api,
    deployment: &Deployment,
) -> Result<Api, ConfigErrors> {
    let fail = |message: String| {
        ConfigErrors(vec![ConfigError {
            file: config.file.to_string(),
            line: 0,
            column: 0,
            message,
        }])
    };
    let mut table: toml::Table = toml::from_str(&config.source).map_err(|e| fail(e.to_string()))?;
    let mut snapshot: toml::Table = toml::from_str(&deployment.definition).map_err(|e| {
        fail(format!(
            "deployment {} of api `{}` is not TOML: {e}",
            deployment.id, api.name
        ))
    })?;
    let apis = table
        .get_mut("apis")
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| fail("the file has no [apis]".into()))?;
    // A deployment snapshots routes and integrations; stages stay the live file's, as in API
    // Gateway, where a stage's settings are not part of the deployment.
    match apis.get(&api.name).and_then(|a| a.get("stages")).cloned() {
        Some(stages) => snapshot.insert("stages".into(), stages),
        None => snapshot.remove("stages"),
    };
    apis.insert(api.name.clone(), toml::Value::Table(snapshot));
    let text = toml::to_string(&table).map_err(|e| fail(e.to_string()))?;
    let resolved = Config::from_toml(&text, &config.file, registry).map_err(|errors| {
        ConfigErrors(
            errors
                .0
                .into_iter()
                .map(|e| ConfigError {
                    message: format!(
                        "deployment {} of api `{}` no longer applies: {}",
                        deployment.id, api.name, e.message
                    ),
                    line: 0,
                    column: 0,
                    file: e.file,
                })
                .collect(),
        )
    })?;
    let mut found = resolved
        .apis
        .into_iter()
        .find(|a| a.name == api.name)
        .ok_or_else(|| {
            fail(format!(
                "deployment {} lost api `{}`",
                deployment.id, api.name
            ))
        })?;
    found.id = api.id.clone();
    found.base_path = api.base_path.clone();
    Ok(found)
}

/// Plans every stage of every API against the deployment history.
pub(crate) fn plan(
    config: &Config,
    history: &History,
    registry: &Registry,
) -> Result<Plan, ConfigErrors> {
    let mut errors = Vec::new();
    let mut main = Vec::new();
    let mut canaries = Vec::new();
    for api in &config.apis {
        let empty = ApiHistory::default();
        let past = history.api(&api.name).unwrap_or(&empty);
        let mut snapshots: HashMap<String, Api> = HashMap::new();
        let mut snapshot_of = |id: &str, at: Option<&ConfigError>, what: &str| {
            if let Some(found) = snapshots.get(id) {
                return Ok(found.clone());
            }
            let Some(deployment) = past.deployment(id) else {
                let mut e = at.cloned().unwrap_or_else(|| ConfigError {
                    file: config.file.to_string(),
                    line: 0,
                    column: 0,
                    message: String::new(),
                });
                e.message = format!(
                    "api `{}`: {what} names deployment `{id}`, which is not in the deployment history",
                    api.name
                );
                return Err(ConfigErrors(vec![e]));
            };
            let resolved = resolve_snapshot(config, registry, api, deployment)?;
            snapshots.insert(id.to_owned(), resolved.clone());
            Ok(resolved)
        };
        let mut by_source: BTreeMap<Option<String>, Vec<Stage>> = BTreeMap::new();
        for stage in &api.stages {
            let state = past.stages.get(&stage.name);
            let base = state.and_then(|s| s.deployment_id.clone());
            if let Some(id) = &base {
                if let Err(e) = snapshot_of(id, None, &format!("stage `{}`", stage.name)) {
                    errors.extend(e.0);
                    continue;
                }
            }
            by_source.entry(base).or_default().push(stage.clone());
            let canary = match state.map(|s| &s.canary) {
                Some(CanarySetting::Set(c)) => Some((
                    c.deployment_id.clone(),
                    c.percent_traffic,
                    c.stage_variable_overrides.clone(),
                    None,
                )),
                Some(CanarySetting::Discarded) => None,
                Some(CanarySetting::FromConfig) | None => stage.canary.as_ref().map(|c| {
                    (
                        c.deployment.clone(),
                        c.percent,
                        c.stage_variables.clone(),
                        Some(&c.at),
                    )
                }),
            };
            let Some((id, percent, overrides, at)) = canary else {
                continue;
            };
            match snapshot_of(&id, at, &format!("the canary of stage `{}`", stage.name)) {
                Ok(mut side) => {
                    let mut stage = stage.clone();
                    stage.variables.extend(overrides);
                    side.stages = vec![stage];
                    canaries.push((side, percent));
                }
                Err(e) => errors.extend(e.0),
            }
        }
        for (source, stages) in by_source {
            let mut variant = match source {
                None => api.clone(),
                Some(id) => match snapshots.get(&id) {
                    Some(found) => found.clone(),
                    None => continue,
                },
            };
            variant.stages = stages;
            main.push(variant);
        }
    }
    if errors.is_empty() {
        Ok(Plan { main, canaries })
    } else {
        Err(ConfigErrors(errors))
    }
}
