//! Errors of the workflow engine: failures raised while running states, and problems with
//! definitions.

use serde::Serialize;

/// A runtime failure of a state, named as Step Functions names it (`States.Runtime`, a
/// handler's `errorType`, a Fail state's `Error`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct StateError {
    /// The error name matched by `ErrorEquals`.
    pub error: String,
    /// The human-readable cause text.
    pub cause: String,
}

impl StateError {
    /// A failure with the given error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StateError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` failure.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// A `States.QueryEvaluationError` failure.
    pub fn query(cause: impl Into<String>) -> Self {
        Self::new(names::QUERY_EVALUATION, cause)
    }

    /// An intrinsic-function failure (`States.IntrinsicFailure`).
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }
}

/// AWS's predefined error names.
pub mod names {
    /// Matches every error name except the terminal ones.
    pub const ALL: &str = "States.ALL";
    /// A Task failed.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A Task ran longer than TimeoutSeconds or missed a heartbeat.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A Task missed its heartbeat.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// An execution failed on an exception it could not process.
    pub const RUNTIME: &str = "States.Runtime";
    /// Output larger than the service quota.
    pub const DATA_LIMIT: &str = "States.DataLimitExceeded";
    /// A JSONata expression failed.
    pub const QUERY_EVALUATION: &str = "States.QueryEvaluationError";
    /// An intrinsic function failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// Parameters could not be applied.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// ResultPath could not be applied.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A Map run exceeded its tolerated failures.
    pub const EXCEED_TOLERATED_FAILURE: &str = "States.ExceedToleratedFailureThreshold";
    /// A branch or iteration failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
}

/// A problem found in a state machine definition, with its location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `ERROR` or `WARNING`.
    pub severity: String,
    /// AWS's diagnostic code, e.g. `SCHEMA_VALIDATION_FAILED`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// A JSON-pointer-like location (`/States/Pass`), or for TOML sources `file:line:col`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Diagnostic {
    /// An ERROR diagnostic.
    pub fn error(code: &str, message: impl Into<String>, location: Option<String>) -> Self {
        Diagnostic {
            severity: "ERROR".into(),
            code: code.into(),
            message: message.into(),
            location,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {} ({})", self.message, self.code),
            None => write!(f, "{} ({})", self.message, self.code),
        }
    }
}

/// Why a definition was rejected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DefinitionError {
    /// The text is not valid JSON / TOML.
    #[error("{0}")]
    Syntax(String),
    /// The definition parsed but is not a valid state machine; every problem is listed.
    #[error("invalid state machine definition:\n{}", list(.0))]
    Invalid(Vec<Diagnostic>),
}

fn list(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}
