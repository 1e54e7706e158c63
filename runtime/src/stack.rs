//! A `Stack` is everything assembled from a [`Config`] and a [`Registry`]: the functions, the
//! router, the logs and the AWS APIs. It answers requests; [`serve`] puts it on a socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use tower::ServiceExt;

use crate::config::{Config, ConfigErrors, EmfDestination, StoreKind};
use crate::gateway::{pipeline, TrafficState};
use crate::invoke::{Function, Registry};
use crate::lifecycle::history::History;
use crate::lifecycle::live::{Env, Live};
use crate::lifecycle::DeploymentSync;
use crate::observe::metrics::Metrics;
use crate::observe::LogStore;
use crate::store::Store;
use crate::workflow::{NewStateMachine, WorkflowService};
use crate::Clock;

pub use crate::gateway::server::serve;
pub use open::StartError;

mod open;
mod tasks;

use tasks::StackTasks;

/// The running stack; cheap to clone.
#[derive(Clone)]
pub struct Stack {
    pub(crate) inner: Arc<StackInner>,
}

/// The stack's shared state.
pub(crate) struct StackInner {
    /// The routing state; a request loads it once (one atomic increment) and keeps it, so a
    /// swap never changes a request in flight.
    live: ArcSwap<Live>,
    /// The handlers, to build functions again on reload.
    pub(crate) registry: Registry,
    /// The deployment history as the store held it; its lock also serializes every
    /// lifecycle change in this process.
    pub(crate) changes: tokio::sync::Mutex<History>,
    /// The shared store's deployment version this process runs, checked once a second.
    pub(crate) deployment_sync: DeploymentSync,
    /// The file `reload` reads, when the stack was started from one.
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) logs: Arc<LogStore>,
    pub(crate) clock: Clock,
    pub(crate) access_stream: &'static str,
    pub(crate) access_log: Arc<crate::observe::LogGroup>,
    pub(crate) workflows: Arc<WorkflowService>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) traffic: Arc<TrafficState>,
    pub(crate) traces: Arc<crate::observe::traces::TraceStore>,
    pub(crate) otlp: Option<crate::observe::otlp::OtlpExporter>,
    /// The one store every mechanism keeps its state in.
    pub(crate) store: Arc<dyn Store>,
    control: axum::Router,
}

/// Builds a [`Stack`], optionally with a manual clock.
pub struct StackBuilder<'a> {
    config: Config,
    registry: &'a Registry,
    clock: Clock,
    config_path: Option<PathBuf>,
    store: Option<Arc<dyn Store>>,
    default_store: StoreKind,
}

impl<'a> StackBuilder<'a> {
    /// Uses `clock` for every time-dependent mechanism.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The file the config came from, which `reload` (SIGHUP, the file watch, `POST /reload`)
    /// reads again.
    pub fn config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_path = Some(path.into());
        self
    }

    /// Assembles the stack on an empty in-memory store, or on the store given to
    /// [`StackBuilder::store`], without reading anything back from it (no deployment history
    /// either; no file is read).
    ///
    /// # Panics
    ///
    /// When the config names a durable store and none was given: durable state must be
    /// read back, which only [`StackBuilder::open`] does.
    pub fn build(self) -> Stack {
        self.try_build()
            .unwrap_or_else(|errors| panic!("cannot build the stack:\n{errors}"))
    }

    /// Assembles the stack on an empty deployment history (reading no file: the history
    /// lives in the store, which only [`StackBuilder::open`] reads back).
    pub fn try_build(self) -> Result<Stack, ConfigErrors> {
        self.assemble(History::default(), 0)
    }

    /// Assembles the stack serving `history`, read from the store at deployment `version`;
    /// reports a history naming deployments the config cannot serve.
    fn assemble(self, history: History, version: u64) -> Result<Stack, ConfigErrors> {
        let StackBuilder {
            config,
            registry,
            clock,
            config_path,
            store,
            default_store,
        } = self;
        let store = match store {
            Some(store) => store,
            None => match config.store.kind.unwrap_or(default_store) {
                StoreKind::Memory => Arc::new(crate::store::MemoryStore::new(clock.clone())),
                kind => panic!(
                    "a {kind:?} store is opened and read back by StackBuilder::open, not build"
                ),
            },
        };
        let logs = Arc::new(LogStore::new(config.logs.stdout));
        let emf = config.logs.emf.as_ref().map(|destination| {
            let group = match destination {
                EmfDestination::Stdout => logs.group_writing_to(
                    crate::observe::metrics::emf::STDOUT_GROUP,
                    Box::new(std::io::stdout()),
                ),
                EmfDestination::Group(name) => logs.group(name),
            };
            crate::observe::metrics::emf::EmfSink::new(group, clock.clone())
        });
        let metrics = Arc::new(Metrics::new(clock.clone()).with_emf(emf));
        if let Some(health) = store.health() {
            health.attach_metrics(&metrics);
        }
        let env = Env {
            registry,
            logs: &logs,
            clock: &clock,
            metrics: &metrics,
            events: Some(&store).filter(|s| s.durable()),
        };
        let (live, _) = Live::build(Arc::new(config), &history, &env, None)?;
        // Config::from_toml validated the traffic config; only the OS randomness that
        // generates key values can still fail here, and then no safe stack exists.
        let traffic = TrafficState::new(&live.config.traffic, store.clone(), clock.clone())
            .unwrap_or_else(|e| panic!("cannot set up traffic management: {e}"));
        let inner = Arc::new_cyclic(|weak: &Weak<StackInner>| {
            let workflows = WorkflowService::new(clock.clone(), Arc::new(StackTasks(weak.clone())));
            StackInner {
                control: crate::aws::router(
                    weak.clone(),
                    crate::aws::stepfunctions::router_of_stack(workflows.clone(), weak.clone()),
                ),
                access_log: logs.group(pipeline::ACCESS_LOG_GROUP),
                traffic: Arc::new(traffic),
                traces: Arc::default(),
                otlp: live
                    .config
                    .logs
                    .otlp_endpoint
                    .as_deref()
                    .and_then(|endpoint| {
                        crate::observe::otlp::OtlpExporter::start(endpoint, clock.clone())
                    }),
                store: store.clone(),
                workflows,
                metrics,
                live: ArcSwap::from_pointee(live),
                registry: registry.clone(),
                changes: tokio::sync::Mutex::new(history),
                deployment_sync: DeploymentSync::new(
                    store.is_shared(),
                    version,
                    clock.now_millis(),
                ),
                config_path,
                logs,
                clock,
                access_stream: "access",
            }
        });
        let config = inner.live().config.clone();
        if config.logs.metrics {
            inner.workflows.attach_metrics(inner.metrics.clone());
        }
        if store.durable() {
            inner.workflows.attach_store(store.clone());
        }
        // Registered once the stack exists: checking a definition asks it which functions exist.
        for decl in config.workflows.values() {
            let created = inner.workflows.create_state_machine(NewStateMachine {
                name: decl.name.clone(),
                definition: decl.definition.clone(),
                role_arn: None,
                kind: decl.kind,
            });
            if let Err(e) = created {
                // Config validation already checked the definition; this only reports.
                tracing::error!(workflow = %decl.name, error = %e, "workflow not registered");
            }
        }
        Ok(Stack { inner })
    }
}

impl Stack {
    pub(crate) fn from_inner(inner: Arc<StackInner>) -> Stack {
        Stack { inner }
    }

    /// Starts building a stack from a validated config and the user's handlers.
    pub fn builder(config: Config, registry: &Registry) -> StackBuilder<'_> {
        StackBuilder {
            config,
            registry,
            clock: Clock::system(),
            config_path: None,
            store: None,
            default_store: StoreKind::Memory,
        }
    }

    /// Answers one request: the AWS APIs on their reserved paths, the gateway otherwise.
    pub async fn handle<B>(&self, req: Request<B>, remote: SocketAddr) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError> + std::fmt::Display,
    {
        self.refresh_deployments_if_due().await;
        if crate::aws::claims(&req) {
            let mut req = req.map(Body::new);
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            return match self.inner.control.clone().oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        pipeline::handle(&self.inner, req, remote).await
    }

    /// The configuration the stack runs now (a reload replaces it).
    pub fn config(&self) -> Arc<Config> {
        self.inner.live().config.clone()
    }

    /// The log groups.
    pub fn logs(&self) -> &LogStore {
        &self.inner.logs
    }

    /// A function by name.
    pub fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.inner.live().functions.get(name).cloned()
    }

    /// The names of every function.
    pub fn function_names(&self) -> Vec<String> {
        self.inner.live().functions.keys().cloned().collect()
    }

    /// The Step Functions service holding state machines and executions.
    pub fn workflows(&self) -> &Arc<WorkflowService> {
        &self.inner.workflows
    }

    /// The most recent requests' timelines.
    pub fn traces(&self) -> &crate::observe::traces::TraceStore {
        &self.inner.traces
    }

    /// The OTLP exporter, when `[logs] otlp_endpoint` is set.
    pub fn otlp_exporter(&self) -> Option<&crate::observe::otlp::OtlpExporter> {
        self.inner.otlp.as_ref()
    }

    /// Every metric series.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The admin API (metrics, logs) for the admin listener.
    pub fn admin_router(&self) -> axum::Router {
        crate::admin::router(crate::admin::AdminState {
            metrics: self.inner.metrics.clone(),
            logs: self.inner.logs.clone(),
            stack: self.clone(),
        })
        .merge(crate::lifecycle::api::admin_router(Arc::downgrade(
            &self.inner,
        )))
    }

    /// API keys, usage plans, throttles and quotas, with their counters.
    pub fn traffic(&self) -> &TrafficState {
        &self.inner.traffic
    }

    /// The clock every mechanism uses.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Every stage's response cache with its CacheHitCount/CacheMissCount per stage and route.
    pub fn cache_metrics(&self) -> Vec<crate::gateway::caching::StageCacheInfo> {
        crate::gateway::caching::stage_caches(&self.inner.live().router)
    }
}

impl StackInner {
    /// A function by name, in the current generation.
    pub(crate) fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.live().functions.get(name).cloned()
    }

    /// The current generation of the routing state.
    pub(crate) fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Makes `next` the generation new requests see.
    pub(crate) fn swap(&self, next: Live) {
        self.live.store(Arc::new(next));
    }
}
