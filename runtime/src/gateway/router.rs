//! Finds the API, stage and route for a request path, with API Gateway's precedence: the
//! longest mount prefix, then literal segments over `{param}` over `{greedy+}`, then a
//! specific method over `ANY`, and `$default` last.

use std::sync::Arc;

use http::Method;
use smallvec::SmallVec;

use super::metrics::RouteMetrics;
use crate::config::{mount_path, Api, ApiKind, RouteKey, Segment, Target};
use crate::observe::metrics::Metrics;

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
    /// `key.text` shared, so each access record takes it without a copy.
    pub key_text: Arc<str>,
    /// `key.resource` shared, so each access record takes it without a copy.
    pub resource_text: Arc<str>,
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
    /// Builds the router for a set of APIs.
    pub fn new(apis: &[Api], metrics: &Metrics) -> Self {
        let mut mounts = Vec::new();
        for api in apis {
            let routes: Arc<Vec<CompiledRoute>> = Arc::new(
                api.routes
                    .iter()
                    .enumerate()
                    .map(|(index, r)| CompiledRoute {
                        key: r.key.clone(),
                        target: r.target.clone(),
                        index,
                        api_key_required: r.api_key_required,
                        validator: r.validator.clone(),
                        auth: r.auth.clone(),
                        key_text: Arc::from(r.key.text.as_str()),
                        resource_text: Arc::from(r.key.resource.as_str()),
                    })
                    .collect(),
            );
            let auth = Arc::new(crate::auth::ApiAuth::new(api.auth.clone()));
            for stage in &api.stages {
                let route_metrics = api
                    .routes
                    .iter()
                    .map(|r| {
                        RouteMetrics::new(metrics, &api.name, &api.id, &stage.name, &r.key.text)
                    })
                    .collect();
                mounts.push(Mount {
                    route_metrics,
                    unmatched_metrics: RouteMetrics::new(
                        metrics,
                        &api.name,
                        &api.id,
                        &stage.name,
                        "-",
                    ),
                    prefix: mount_path(&api.base_path, &stage.name),
                    api_id: api.id.clone(),
                    api_name: api.name.clone(),
                    kind: api.kind,
                    stage: stage.name.clone(),
                    variables: stage.variables.clone(),
                    routes: routes.clone(),
                    cache: None,
                    logs: Arc::new(super::stage_logs::StageLogs {
                        stage: Arc::from(stage.name.as_str()),
                        api_id: Arc::from(api.id.as_str()),
                        access: None,
                        execution: None,
                    }),
                    auth: auth.clone(),
                });
            }
        }
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Router {
            mounts,
            domains: Default::default(),
            memo_id: super::route_memo::next_router_id(),
        }
    }

    /// Joins routers built separately (one per deployed definition of an API) into one,
    /// longest prefix first again.
    pub(crate) fn join(routers: Vec<Router>) -> Router {
        let mut mounts: Vec<Mount> = routers.into_iter().flat_map(|r| r.mounts).collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Router {
            mounts,
            domains: Default::default(),
            memo_id: super::route_memo::next_router_id(),
        }
    }

    /// Routes a request.
    pub fn route<'a>(&'a self, method: &Method, path: &'a str) -> Routed<'a> {
        let Some(mount) = self.mounts.iter().find(|m| {
            m.prefix.is_empty()
                || (path.starts_with(&m.prefix)
                    && matches!(path.as_bytes().get(m.prefix.len()), None | Some(b'/')))
        }) else {
            return Routed::NoApi;
        };
        self.route_in(mount, method, &path[mount.prefix.len()..])
    }

    /// Finds the route of `mount` for a path within the stage.
    pub(super) fn route_in<'a>(
        &'a self,
        mount: &'a Mount,
        method: &Method,
        stage_path: &'a str,
    ) -> Routed<'a> {
        let stage_path = if stage_path.is_empty() {
            "/"
        } else {
            stage_path
        };
        let segments = split_segments(stage_path);
        let mut best: Option<(Rank, usize, PathParams<'_>)> = None;
        let mut default = None;
        for (index, route) in mount.routes.iter().enumerate() {
            if let Some(m) = &route.key.method {
                if m != method {
                    continue;
                }
            }
            let Some(pattern) = &route.key.path else {
                default = Some(index);
                continue;
            };
            if let Some((mut rank, params)) = match_path(pattern, &segments, stage_path) {
                rank.push(u8::from(route.key.method.is_none()));
                if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                    best = Some((rank, index, params));
                }
            }
        }
        let (index, params) = match (best, default) {
            (Some((_, index, params)), _) => (index, params),
            (None, Some(index)) => (index, PathParams::new()),
            (None, None) => return Routed::NoRoute(mount),
        };
        Routed::Route {
            mount,
            route: &mount.routes[index],
            stage_path,
            params,
            metrics: &mount.route_metrics[index],
            custom_domain: false,
        }
    }

    /// The mounted stages.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mounted stages, to attach per-stage state once at startup.
    pub(crate) fn mounts_mut(&mut self) -> &mut [Mount] {
        &mut self.mounts
    }
}

/// Lower is more specific: one entry per segment (literal 0, param 1, greedy 2), then ANY.
/// Inline up to 15 segments, so routing a request allocates nothing for ranking.
type Rank = SmallVec<[u8; 16]>;
/// A path's segments, inline up to 16 of them.
type Segments<'a> = SmallVec<[&'a str; 16]>;

fn split_segments(path: &str) -> Segments<'_> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        Segments::new()
    } else {
        trimmed.split('/').collect()
    }
}

/// Matches segments against a pattern; returns a rank (lower is more specific) and params.
fn match_path<'a>(
    pattern: &'a [Segment],
    segments: &[&'a str],
    path: &'a str,
) -> Option<(Rank, PathParams<'a>)> {
    let mut rank = Rank::new();
    let mut params = PathParams::new();
    for (i, seg) in pattern.iter().enumerate() {
        match seg {
            Segment::Literal(lit) => {
                if segments.get(i)? != lit {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(name) => {
                let value = segments.get(i).filter(|s| !s.is_empty())?;
                params.push(name, value);
                rank.push(1);
            }
            Segment::Greedy(name) => {
                if segments.len() <= i || segments[i].is_empty() {
                    return None;
                }
                // The rest of the path, from this segment on, as one value.
                let offset = offset_of_segment(path, i);
                params.push(name, &path[offset..]);
                rank.push(2);
                return Some((rank, params));
            }
        }
    }
    (segments.len() == pattern.len()).then_some((rank, params))
}

fn offset_of_segment(path: &str, index: usize) -> usize {
    let mut seen = 0;
    for (pos, b) in path.bytes().enumerate() {
        if b == b'/' {
            if seen == index {
                return pos + 1;
            }
            seen += 1;
        }
    }
    path.len()
}
