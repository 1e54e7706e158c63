//! Finds the API, stage and route for a request path, with API Gateway's precedence: the
//! longest mount prefix, then literal segments over `{param}` over `{greedy+}`, then a
//! specific method over `ANY`, and `$default` last.
//!
//! Building the router from the config is in `router/compile.rs`; matching a request to a
//! route in `router/matching.rs`.

use std::sync::Arc;

use super::metrics::RouteMetrics;
use crate::config::{ApiKind, RouteKey, Target};

mod compile;
mod matching;
mod params;
pub use params::PathParams;

/// A route ready to serve.
#[derive(Debug)]
pub struct CompiledRoute {
    /// The key as configured.
    pub key: RouteKey,
    /// What it invokes.
    pub target: Target,
    /// Its position among the API's routes.
    pub index: usize,
    /// Whether callers must send a valid `x-api-key`.
    pub api_key_required: bool,
    /// Request validation, if any.
    pub validator: Option<Arc<crate::gateway::validation::Validator>>,
    /// The route's authorizer and scopes.
    pub auth: Option<crate::config::auth::RouteAuth>,
    /// `key.text`, interned, so each access record takes it by pointer.
    pub key_text: &'static str,
    /// `key.resource`, interned, so each access record takes it by pointer.
    pub resource_text: &'static str,
}

/// One stage of one API, mounted at a path prefix.
pub struct Mount {
    /// `""` for the root, else `/prefix`.
    pub prefix: String,
    /// The API's id.
    pub api_id: String,
    /// The API's name.
    pub api_name: String,
    /// HTTP or REST.
    pub kind: ApiKind,
    /// The stage's name.
    pub stage: String,
    /// The stage's variables.
    pub variables: std::collections::BTreeMap<String, String>,
    /// The API's routes.
    pub routes: Arc<Vec<CompiledRoute>>,
    /// Each route's metrics in this stage, by route index.
    pub route_metrics: Vec<RouteMetrics>,
    /// Metrics of requests that matched no route of this stage.
    pub unmatched_metrics: RouteMetrics,
    /// The stage's response cache, when it has one.
    pub cache: Option<Arc<super::caching::MountCache>>,
    /// The stage's access and execution logs.
    pub logs: Arc<super::stage_logs::StageLogs>,
    /// The API's authorization (shared by its stages).
    pub auth: Arc<crate::auth::ApiAuth>,
}

/// The result of routing.
pub enum Routed<'a> {
    /// A route matched.
    Route {
        /// Where.
        mount: &'a Mount,
        /// Which route.
        route: &'a CompiledRoute,
        /// The path within the stage.
        stage_path: &'a str,
        /// Path parameter names with their raw (still percent-encoded) values.
        params: PathParams<'a>,
        /// The route's metrics in this stage.
        metrics: &'a RouteMetrics,
        /// Routed through a custom domain's base path mapping.
        custom_domain: bool,
    },
    /// An API claims the path but has no route for it.
    NoRoute(&'a Mount),
    /// No API claims the path.
    NoApi,
    /// The Host is a custom domain, but none of its base paths maps the path (AWS: 403).
    NoMapping,
}

/// Every mounted stage, longest prefix first.
#[derive(Default)]
pub struct Router {
    pub(super) mounts: Vec<Mount>,
    /// Custom domains by lowercase host: (base path, mount index), longest base path first.
    pub(super) domains: std::collections::HashMap<String, Vec<(String, usize)>>,
    /// This router's id in the per-thread route memo (0: not memoized).
    pub(super) memo_id: u64,
}

impl Router {
    /// The mounted stages.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mounted stages, to attach per-stage state once at startup.
    pub(crate) fn mounts_mut(&mut self) -> &mut [Mount] {
        &mut self.mounts
    }
}
