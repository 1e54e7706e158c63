//! Building a [`Router`] from the config's APIs: one [`Mount`] per stage, its routes
//! compiled once and shared by the API's stages, longest prefix first.

use std::sync::Arc;

use super::{CompiledRoute, Mount, Router};
use crate::config::{mount_path, Api};
use crate::gateway::metrics::RouteMetrics;
use crate::observe::metrics::Metrics;

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
                        key_text: crate::observe::interned::intern(&r.key.text),
                        resource_text: crate::observe::interned::intern(&r.key.resource),
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
                    logs: Arc::new(crate::gateway::stage_logs::StageLogs {
                        stage: crate::observe::interned::intern(&stage.name),
                        api_id: crate::observe::interned::intern(&api.id),
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
            memo_id: crate::gateway::route_memo::next_router_id(),
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
            memo_id: crate::gateway::route_memo::next_router_id(),
        }
    }
}
