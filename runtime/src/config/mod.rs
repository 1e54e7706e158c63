//! gateway.toml: its schema, loading, and validation that reports every error at once with
//! its file:line:col. An invalid file never becomes a [`Config`].

mod access_log;
pub mod auth;
mod auth_authorizer;
mod auth_iam;
mod auth_jwks;
mod auth_route;
mod cache;
mod canary;
mod custom_integration;
pub mod domains;
mod duration;
mod error;
mod function;
pub mod gateway_responses;
mod integration;
mod observability;
mod openapi_source;
mod resolve;
mod route;
pub mod schema;
mod store;
pub mod tls;
mod traffic;
mod workflows;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use access_log::{AccessDestination, AccessLogConfig, ExecutionLogLevel};
pub use cache::StageCacheConfig;
pub use canary::{check_percent as check_canary_percent, CanaryConfig};
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigErrors};
pub use observability::EmfDestination;
pub use route::{RouteKey, Segment};
pub use store::{OnUnavailable, StoreConfig, StoreKind, DEFAULT_DATA_DIR};

use crate::invoke::{AliasRouting, FunctionSettings, Registry};

/// Which kind of API Gateway API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// HTTP API: payload format 2.0, 404 for unknown routes.
    Http,
    /// REST API: payload format 1.0, 403 `Missing Authentication Token` for unknown routes.
    Rest,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener and limits.
    pub server: Server,
    /// Log destinations.
    pub logs: Logs,
    /// Concurrent invocations allowed across all functions (`[lambda].account_concurrency`).
    pub account_concurrency: u32,
    /// Functions with their resolved settings.
    pub functions: BTreeMap<String, FunctionDecl>,
    /// APIs.
    pub apis: Vec<Api>,
    /// API keys, usage plans and throttles, validated.
    pub traffic: crate::traffic::TrafficConfig,
    /// Workflows to register at start-up.
    pub workflows: BTreeMap<String, WorkflowDecl>,
    /// Custom domain names with their base path mappings.
    pub domains: Vec<domains::Domain>,
    /// The file's text, from which deployments snapshot an API's section.
    pub source: std::sync::Arc<str>,
    /// The file's name as given, for error messages.
    pub file: std::sync::Arc<str>,
    /// Where state lives (`[store]`).
    pub store: StoreConfig,
}

/// A workflow from config, validated.
#[derive(Debug, Clone)]
pub struct WorkflowDecl {
    /// The state machine's name.
    pub name: String,
    /// STANDARD or EXPRESS.
    pub kind: crate::workflow::MachineType,
    /// The definition as ASL JSON text.
    pub definition: String,
}

/// `[server]`, resolved.
#[derive(Debug, Clone)]
pub struct Server {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Largest accepted request body.
    pub max_body_bytes: u64,
    /// How long to wait for an integration.
    pub integration_timeout: Duration,
    /// Where the admin API listens, if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// `[server.tls]`: the listener serves HTTPS with this certificate by default.
    pub tls: Option<tls::TlsIdentity>,
    /// Where deployment history is kept.
    pub data_dir: std::path::PathBuf,
}

/// `[logs]`, resolved.
#[derive(Debug, Clone)]
pub struct Logs {
    /// Mirror log lines to stdout.
    pub stdout: bool,
    /// One access-log line per request.
    pub access_log: bool,
    /// Record metrics.
    pub metrics: bool,
    /// Keep request timelines (also on when `otlp_endpoint` is set).
    pub traces: bool,
    /// Export finished traces to this OTLP/HTTP collector base URL.
    pub otlp_endpoint: Option<String>,
    /// Also write each metric sample as an Embedded Metric Format line here.
    pub emf: Option<EmfDestination>,
}

/// A function: the handler it runs and its settings.
#[derive(Debug, Clone)]
pub struct FunctionDecl {
    /// The registered handler's name (empty when `settings.command` runs instead).
    pub handler: String,
    /// Memory, timeout, environment, log format, cold starts, concurrency, async, command.
    pub settings: FunctionSettings,
    /// Published versions, oldest first.
    pub versions: Vec<VersionDecl>,
    /// Aliases by name.
    pub aliases: BTreeMap<String, AliasRouting>,
}

/// A published version: an immutable copy of the function's code and settings.
#[derive(Debug, Clone)]
pub struct VersionDecl {
    /// `1`, `2`, ...
    pub number: String,
    /// The registered handler's name (empty when `settings.command` runs instead).
    pub handler: String,
    /// The version's settings.
    pub settings: FunctionSettings,
}

/// An API with its stages and routes.
#[derive(Debug, Clone)]
pub struct Api {
    /// The name used in the config.
    pub name: String,
    /// A stable 10-character id, as API Gateway assigns.
    pub id: String,
    /// HTTP or REST.
    pub kind: ApiKind,
    /// Mount prefix, `""` for the root, otherwise `/x/y`.
    pub base_path: String,
    /// Stages.
    pub stages: Vec<Stage>,
    /// Routes.
    pub routes: Vec<Route>,
    /// Authorizers, CORS and resource policy.
    pub auth: auth::ApiAuthConfig,
    /// The API as an OpenAPI 3 document (without `servers`), for exports.
    pub openapi: std::sync::Arc<serde_json::Value>,
}

/// A stage of an API.
#[derive(Debug, Clone)]
pub struct Stage {
    /// `$default` or a name.
    pub name: String,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// The stage's response cache, if it has one.
    pub cache: Option<StageCacheConfig>,
    /// The stage's access log, if configured.
    pub access_log: Option<AccessLogConfig>,
    /// The stage's execution log level, if configured.
    pub execution_log: Option<ExecutionLogLevel>,
    /// The stage's canary release from config, if any.
    pub canary: Option<CanaryConfig>,
}

/// A route and what serves it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route key.
    pub key: RouteKey,
    /// The integration.
    pub target: Target,
    /// How the route is cached in stages with a cache (`None`: the defaults).
    pub cache: Option<crate::cache::RouteCacheSettings>,
    /// Whether callers must send a valid `x-api-key`.
    pub api_key_required: bool,
    /// Request validation (required parameters, body model), if any.
    pub validator: Option<std::sync::Arc<crate::gateway::validation::Validator>>,
    /// The authorizer protecting the route, if any.
    pub auth: Option<auth::RouteAuth>,
}

/// What a route invokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A function by name.
    Function(String),
    /// A workflow by name: started (answering with its execution ARN) or, with `sync`, run
    /// to the end (answering with its output).
    Workflow {
        /// The workflow's name.
        name: String,
        /// Run synchronously.
        sync: bool,
    },
    /// An HTTP proxy integration to an upstream URL.
    Http(std::sync::Arc<crate::gateway::http_proxy::HttpTarget>),
    /// A mock integration answering from a mapping template.
    Mock(std::sync::Arc<crate::gateway::mock::MockTarget>),
    /// A non-proxy (custom) function or HTTP integration: mapping templates and
    /// integration responses chosen by selection pattern.
    Custom(std::sync::Arc<crate::gateway::custom_integration::CustomIntegration>),
}

impl Config {
    /// Parses and validates TOML text; `file` names it in error messages.
    pub fn from_toml(
        source: &str,
        file: &str,
        registry: &Registry,
    ) -> Result<Config, ConfigErrors> {
        resolve::resolve(source, file, registry)
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path, registry: &Registry) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read the file: {e}"),
            }])
        })?;
        Config::from_toml(&source, &file, registry)
    }
}

/// Where a stage of an API is served: `{base_path}/{stage}`, or `{base_path}` for `$default`.
pub fn mount_path(base_path: &str, stage: &str) -> String {
    if stage == "$default" {
        base_path.to_owned()
    } else {
        format!("{base_path}/{stage}")
    }
}
