//! The deployment history: every API's deployments (snapshots of its TOML section) and what
//! each stage points at. It is kept in the store (see [`super::stored`]); the file
//! `{data_dir}/deployments.json` earlier versions kept it in is read only to import it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The name of the file earlier versions kept the history in, inside the data directory.
pub const FILE_NAME: &str = "deployments.json";

/// Every API's deployments and stage pointers, by API name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// By API name.
    #[serde(default)]
    pub apis: BTreeMap<String, ApiHistory>,
}

/// One API's deployments and stages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiHistory {
    /// Oldest first.
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// By stage name.
    #[serde(default)]
    pub stages: BTreeMap<String, StageState>,
}

/// A snapshot of an API's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    /// Six lowercase hex characters.
    pub id: String,
    /// Seconds since the epoch.
    pub created_date: i64,
    /// What the deployer wrote.
    #[serde(default)]
    pub description: String,
    /// The API's `[apis.NAME]` table as TOML text, when deployed.
    pub definition: String,
}

/// What a stage serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageState {
    /// The deployment the stage serves (`None`: the live file).
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// The canary, as set through the API (it wins over the file's `canary`).
    #[serde(default)]
    pub canary: CanarySetting,
}

/// Where a stage's canary comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CanarySetting {
    /// The stage's `canary` in gateway.toml, if any.
    #[default]
    FromConfig,
    /// Set through the API.
    Set(CanaryState),
    /// Promoted or discarded through the API: no canary, whatever the file says.
    Discarded,
}

/// A canary: a share of requests served by another deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryState {
    /// The deployment the canary serves.
    pub deployment_id: String,
    /// 0.0 to 100.0.
    pub percent_traffic: f64,
    /// Stage variables the canary sees instead of the stage's own.
    #[serde(default)]
    pub stage_variable_overrides: BTreeMap<String, String>,
}

impl History {
    /// Reads the history file in `dir`; an absent file is an empty history.
    pub fn load(dir: &Path) -> Result<History, String> {
        let path = dir.join(FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a deployment history: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
            Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
        }
    }

    /// One API's history, if it has any.
    pub fn api(&self, name: &str) -> Option<&ApiHistory> {
        self.apis.get(name)
    }
}

impl ApiHistory {
    /// A deployment by id.
    pub fn deployment(&self, id: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.id == id)
    }
}
