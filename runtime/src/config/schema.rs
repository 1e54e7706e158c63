//! The gateway.toml file as written: every table and key a user may set.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::observe::LogFormat;
use crate::traffic::{ApiKeyConfig, ThrottleSettings, UsagePlanConfig};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Listener and request limits.
    #[serde(default)]
    pub server: ServerSection,
    /// Where logs go and in what format.
    #[serde(default)]
    pub logs: LogsSection,
    /// Account-wide Lambda settings.
    #[serde(default)]
    pub lambda: super::function::LambdaSection,
    /// Settings per function, keyed by function name.
    #[serde(default)]
    pub functions: BTreeMap<String, Spanned<FunctionSection>>,
    /// APIs, keyed by API name.
    #[serde(default)]
    pub apis: BTreeMap<String, Spanned<ApiSection>>,
    /// `[throttle]`: the account-wide throttle (default 10,000 rps, burst 5,000).
    pub throttle: Option<ThrottleSettings>,
    /// `[[api_keys]]`: API keys clients send in `x-api-key`.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// `[[usage_plans]]`: per-key throttles and quotas on API stages.
    #[serde(default)]
    pub usage_plans: Vec<UsagePlanConfig>,
    /// Step Functions state machines, keyed by name.
    #[serde(default)]
    pub workflows: BTreeMap<String, Spanned<WorkflowSection>>,
    /// Custom domain names, keyed by host name.
    #[serde(default)]
    pub domains: BTreeMap<String, Spanned<super::domains::DomainSection>>,
    /// `[store]`: where state lives.
    #[serde(default)]
    pub store: super::store::StoreSection,
}

/// `[workflows.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSection {
    /// The definition file, relative to the config file: TOML (`.toml`) or ASL JSON (`.json`).
    pub definition: Spanned<String>,
    /// `STANDARD` (asynchronous, with history; the default) or `EXPRESS` (synchronous).
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on (default `127.0.0.1:3000`).
    pub listen: Option<Spanned<String>>,
    /// Largest request body accepted, in bytes (default 10 MB, API Gateway's limit).
    pub max_body_bytes: Option<Spanned<u64>>,
    /// How long the gateway waits for an integration (default `29s`).
    pub integration_timeout: Option<Spanned<String>>,
    /// Address of the admin listener (metrics, logs); none when absent.
    pub admin_listen: Option<Spanned<String>>,
    /// `[server.tls]`: serve HTTPS with this certificate (and the domains' own, by SNI).
    pub tls: Option<Spanned<super::tls::TlsSection>>,
    /// Where deployment history is kept (default `.portico/`).
    pub data_dir: Option<Spanned<String>>,
}

/// `[logs]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    /// Mirror every log line to stdout (default true).
    pub stdout: Option<bool>,
    /// Default function log format, `Text` or `JSON` (default `Text`).
    pub format: Option<LogFormat>,
    /// Write one access-log line per gateway request (default true).
    pub access_log: Option<bool>,
    /// Record metrics: AWS/ApiGateway, AWS/Lambda, AWS/States (default true).
    pub metrics: Option<bool>,
    /// Keep a timeline of each recent request for `GET /traces` (default false: like X-Ray
    /// tracing on an API Gateway stage, it is opted into).
    pub traces: Option<bool>,
    /// Export each finished trace to an OpenTelemetry collector over OTLP/HTTP JSON:
    /// `"http://127.0.0.1:4318"` (spans go to `/v1/traces` under it). Turns timelines on.
    pub otlp_endpoint: Option<Spanned<String>>,
    /// Also write each metric sample as a CloudWatch Embedded Metric Format line:
    /// `"stdout"` or `"group:LOG_GROUP_NAME"` (default: off).
    pub emf: Option<Spanned<String>>,
}

/// `[functions.NAME]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSection {
    /// The registered handler to run (default: the function's own name).
    pub handler: Option<Spanned<String>>,
    /// Memory in MB, 128 to 10240 (default 128).
    pub memory_mb: Option<Spanned<i64>>,
    /// Invocation timeout, `1s` to `900s` (default `3s`).
    pub timeout: Option<Spanned<String>>,
    /// Environment variables handed to the function.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Log format for this function, `Text` or `JSON` (default: `[logs].format`).
    pub log_format: Option<LogFormat>,
    /// Simulated init delay: `"250ms"`, or `{ p50 = "200ms", p99 = "1s" }` (default none).
    pub cold_start: Option<Spanned<super::function::ColdStartSection>>,
    /// How long an idle instance stays warm (default `10m`).
    pub idle_timeout: Option<Spanned<String>>,
    /// Instances initialized at start-up and never evicted (default 0).
    pub provisioned_concurrency: Option<Spanned<i64>>,
    /// Cap on this function's concurrent invocations (default: the account's cap).
    pub reserved_concurrency: Option<Spanned<i64>>,
    /// An external program serving the Lambda Runtime API, instead of a registered handler.
    pub command: Option<Spanned<Vec<String>>>,
    /// `Event` invocation retries, event age and destinations.
    #[serde(rename = "async")]
    pub asynchronous: Option<Spanned<super::function::AsyncSection>>,
    /// Published versions, numbered 1, 2, ... in order.
    #[serde(default)]
    pub versions: Vec<Spanned<super::function::VersionSection>>,
    /// Aliases by name.
    #[serde(default)]
    pub aliases: BTreeMap<String, Spanned<super::function::AliasSection>>,
}

/// `[apis.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// `http` (HTTP API, payload 2.0) or `rest` (REST API, payload 1.0).
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// Path prefix the API is mounted under (default `/`).
    pub base_path: Option<Spanned<String>>,
    /// An OpenAPI 3 JSON file (relative to the config file) defining the routes, authorizers
    /// and API key source, with API Gateway's extensions; stages stay in this file.
    pub openapi: Option<Spanned<String>>,
    /// Stages by name; an HTTP API without stages gets `$default`.
    #[serde(default)]
    pub stages: BTreeMap<String, StageSection>,
    /// The API's routes.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
    /// Authorizers by name (JWT, Lambda TOKEN / REQUEST).
    #[serde(default)]
    pub authorizers: BTreeMap<String, Spanned<super::auth::AuthorizerSection>>,
    /// CORS: preflights answered by the gateway, headers on every response.
    pub cors: Option<Spanned<super::auth::CorsSection>>,
    /// Allow / deny by source IP range.
    pub resource_policy: Option<Spanned<super::auth::ResourcePolicySection>>,
    /// `HEADER` (default: `x-api-key`) or `AUTHORIZER` (the Lambda authorizer's
    /// `usageIdentifierKey`).
    pub api_key_source: Option<Spanned<String>>,
    /// Customized gateway responses by type (`UNAUTHORIZED`, `DEFAULT_4XX`, ...).
    #[serde(default)]
    pub gateway_responses:
        BTreeMap<String, Spanned<super::gateway_responses::GatewayResponseSection>>,
}

/// `[apis.NAME.stages.STAGE]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    /// Stage variables, visible to functions as `stageVariables`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// The stage's response cache (REST APIs); none when absent.
    pub cache: Option<Spanned<super::cache::StageCacheSection>>,
    /// Default method throttling: a bucket of this size for each route of the stage.
    pub throttle: Option<ThrottleSettings>,
    /// The stage's access log: format and destination.
    pub access_log: Option<Spanned<super::access_log::AccessLogSection>>,
    /// The stage's execution log level, `ERROR` or `INFO`; none when absent.
    pub execution_log: Option<Spanned<String>>,
    /// A canary release: a share of the stage's requests served by another deployment.
    pub canary: Option<Spanned<super::canary::CanarySection>>,
}

/// `[[apis.NAME.routes]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// `METHOD /path` (methods GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY; path
    /// parameters `{id}`, a final greedy `{proxy+}`), or `$default`.
    pub route: Spanned<String>,
    /// The function that serves the route.
    pub function: Option<Spanned<String>>,
    /// The workflow the route starts (instead of a function).
    pub workflow: Option<Spanned<String>>,
    /// An HTTP proxy integration: the upstream URL, with `{param}` path parameters and
    /// `${stageVariables.NAME}` substituted (instead of a function).
    pub http: Option<Spanned<String>>,
    /// With `http`: this route's integration timeout (default `[server] integration_timeout`).
    pub timeout: Option<Spanned<String>>,
    /// A mock integration answering from a mapping template (instead of a function).
    pub mock: Option<Spanned<super::integration::MockSection>>,
    /// With `function` or `http` on a REST API: a non-proxy integration (request templates,
    /// parameter mapping, integration responses) instead of a proxy one.
    pub integration: Option<Spanned<super::custom_integration::IntegrationSection>>,
    /// Request validation: `{ body = "<JSON Schema draft 4>", parameters = ["querystring.q"] }`.
    pub validate: Option<Spanned<super::integration::ValidateSection>>,
    /// With `workflow`: run it to the end and answer with its output (EXPRESS workflows
    /// only) instead of answering with the started execution's ARN.
    #[serde(default)]
    pub sync: bool,
    /// How the route is cached in stages with a cache (default: GET cached at the stage TTL).
    pub cache: Option<Spanned<super::cache::RouteCacheSection>>,
    /// Requests must carry a valid `x-api-key` of a usage plan covering the stage.
    pub api_key_required: Option<bool>,
    /// This route's throttle in every stage, replacing the stage default.
    pub throttle: Option<ThrottleSettings>,
    /// The API authorizer protecting the route.
    pub authorizer: Option<Spanned<String>>,
    /// The route's own resource policy (the API's applies too).
    pub resource_policy: Option<Spanned<super::auth::ResourcePolicySection>>,
    /// JWT authorizers: any one of these scopes is required.
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
}
