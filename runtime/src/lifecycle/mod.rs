//! Lifecycle: hot reload of gateway.toml, deployments with rollback, and canary releases.
//!
//! The stack's routing state is one [`live::Live`] generation behind an atomic swap. A reload,
//! a deployment, a rollback or a canary change builds a new generation from the config and the
//! deployment history, validating everything first, and swaps it in; requests in flight keep
//! the generation they started with. The history lives in the store ([`stored`]), so
//! replicas sharing one see each other's changes ([`refresh`]).

pub(crate) mod api;
mod delete;
mod functions;
pub mod history;
pub(crate) mod live;
mod operations;
mod plan;
mod refresh;
mod reload;
mod stage_change;
pub mod stored;
pub mod watch;

pub use history::{CanarySetting, CanaryState, Deployment, History, StageState};
pub use operations::{DeploymentList, NewDeployment, StageChange, StageView};
pub use plan::snapshot;
pub(crate) use refresh::DeploymentSync;
pub use refresh::REFRESH_MS;
pub use reload::ReloadReport;

use crate::config::ConfigErrors;

/// An error of a lifecycle operation, mapped to HTTP in [`api`].
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No API with that id or name.
    #[error("Invalid API identifier specified {account}:{0}", account = crate::invoke::ACCOUNT_ID)]
    ApiNotFound(String),
    /// The API has no such stage.
    #[error("Invalid stage identifier specified")]
    StageNotFound,
    /// No deployment with that id.
    #[error("Invalid deployment identifier specified")]
    DeploymentNotFound,
    /// The request is malformed or not allowed.
    #[error("{0}")]
    BadRequest(String),
    /// The new config (or the history applied to it) does not validate; nothing changed.
    #[error("the configuration is invalid; the running one is kept")]
    Invalid(ConfigErrors),
    /// The deployment history could not be read or written; nothing changed.
    #[error("the deployment history could not be saved")]
    Storage(String),
    /// Another replica kept changing the same API for the whole wait; nothing changed.
    #[error(
        "Unable to complete operation due to concurrent modification. Please try again later."
    )]
    Conflict,
}

impl From<stored::LeaseError> for LifecycleError {
    fn from(e: stored::LeaseError) -> Self {
        match e {
            stored::LeaseError::Busy => LifecycleError::Conflict,
            stored::LeaseError::Store(e) => LifecycleError::Storage(e.to_string()),
        }
    }
}
