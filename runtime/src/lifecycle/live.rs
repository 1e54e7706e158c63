//! The routing state a request reads once and keeps to the end: the config, the router (with
//! each stage's deployment and canary side) and the functions. A reload or a deployment builds
//! a new one and swaps it in; requests in flight finish on the one they started with.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http::Method;

use super::history::History;
use crate::config::{Api, Config, ConfigErrors};
use crate::gateway::router::Routed;
use crate::gateway::Router;
use crate::invoke::{AccountConcurrency, Function, Registry};
use crate::observe::metrics::Metrics;
use crate::observe::LogStore;
use crate::Clock;

/// One generation of the stack's routing state.
pub(crate) struct Live {
    /// The config it was built from.
    pub(crate) config: Arc<Config>,
    /// Every stage, each serving its deployment (or the live file).
    pub(crate) router: Router,
    /// The canary sides of stages that have a canary.
    pub(crate) canary_router: Router,
    /// Canary splits by mount prefix (empty when no stage has a canary).
    canaries: HashMap<String, CanarySplit>,
    /// Every function by name.
    pub(crate) functions: HashMap<String, Arc<Function>>,
    /// The account-wide concurrency every function shares.
    pub(crate) account: Arc<AccountConcurrency>,
}

/// What building a generation needs from the stack.
pub(crate) struct Env<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) logs: &'a Arc<LogStore>,
    pub(crate) clock: &'a Clock,
    pub(crate) metrics: &'a Arc<Metrics>,
    /// The durable store queued `Event` invocations are kept in, if the stack has one.
    pub(crate) events: Option<&'a Arc<dyn crate::store::Store>>,
}

/// A counter-based split: request `n` goes to the canary when `⌊(n+1)·p/100⌋ > ⌊n·p/100⌋`, so
/// every run of requests gets the configured share exactly (within one request), with no RNG.
pub(crate) struct CanarySplit {
    percent: f64,
    served: AtomicU64,
}

impl CanarySplit {
    fn next_is_canary(&self) -> bool {
        let n = self.served.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.percent / 100.0).floor() > (n * self.percent / 100.0).floor()
    }
}

impl Live {
    /// Builds a generation; `previous` lends its warm functions where unchanged.
    pub(crate) fn build(
        config: Arc<Config>,
        history: &History,
        env: &Env<'_>,
        previous: Option<&Live>,
    ) -> Result<(Live, Vec<String>), ConfigErrors> {
        let plan = super::plan::plan(&config, history, env.registry)?;
        let router = join(&plan.main, env, false).with_domains(&config.domains);
        let sides: Vec<Api> = plan.canaries.iter().map(|(api, _)| api.clone()).collect();
        let canary_router = join(&sides, env, true).with_domains(&config.domains);
        let canaries = plan
            .canaries
            .iter()
            .flat_map(|(api, percent)| {
                api.stages.iter().map(move |s| {
                    (
                        crate::config::mount_path(&api.base_path, &s.name),
                        CanarySplit {
                            percent: *percent,
                            served: AtomicU64::new(0),
                        },
                    )
                })
            })
            .collect();
        let (functions, account, kept) = super::functions::build(&config, env, previous);
        Ok((
            Live {
                config,
                router,
                canary_router,
                canaries,
                functions,
                account,
            },
            kept,
        ))
    }

    /// Routes a request, sending a stage's canary share to its canary side.
    pub(crate) fn route<'a>(
        &'a self,
        method: &Method,
        host: Option<&str>,
        path: &'a str,
    ) -> Routed<'a> {
        let routed = self.router.route_memoized(method, host, path);
        if self.canaries.is_empty() {
            return routed;
        }
        let mount = match &routed {
            Routed::Route { mount, .. } | Routed::NoRoute(mount) => *mount,
            Routed::NoApi | Routed::NoMapping => return routed,
        };
        match self.canaries.get(mount.prefix.as_str()) {
            Some(split) if split.next_is_canary() => {
                self.canary_router.route_for_host(method, host, path)
            }
            _ => routed,
        }
    }
}

/// One router over several API variants, each with its stage caches and logs attached;
/// `canary` routers keep their shared cache entries apart from the main side's.
fn join(apis: &[Api], env: &Env<'_>, canary: bool) -> Router {
    let routers = apis
        .iter()
        .map(|api| {
            let one = std::slice::from_ref(api);
            let mut router = Router::new(one, env.metrics);
            crate::gateway::caching::attach(&mut router, one, env.clock, canary);
            crate::gateway::stage_logs::attach(&mut router, one, env.logs);
            router
        })
        .collect();
    Router::join(routers)
}
