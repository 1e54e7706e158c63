//! A `Stack` is everything assembled from a [`Config`] and a [`Registry`]: the functions, the
//! router, the logs and the AWS APIs. It answers requests; [`serve`] puts it on a socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use tower::ServiceExt;

use crate::config::{Config, StoreKind};
use crate::gateway::{pipeline, Router, TrafficState};
use crate::invoke::{Function, Invocation, Payload, Registry};
use crate::observe::metrics::Metrics;
use crate::observe::LogStore;
use crate::store::Store;
use crate::workflow::{NewStateMachine, TaskFailure, TaskInvoker, WorkflowService};
use crate::Clock;

pub use crate::gateway::server::serve;
pub use open::StartError;

mod open;

/// The running stack; cheap to clone.
#[derive(Clone)]
pub struct Stack {
    inner: Arc<StackInner>,
}

pub(crate) struct StackInner {
    pub(crate) config: Config,
    pub(crate) router: Router,
    pub(crate) functions: HashMap<String, Arc<Function>>,
    pub(crate) logs: Arc<LogStore>,
    pub(crate) clock: Clock,
    pub(crate) access_stream: Arc<str>,
    pub(crate) access_log: Arc<crate::observe::LogGroup>,
    pub(crate) workflows: Arc<WorkflowService>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) traffic: Arc<TrafficState>,
    pub(crate) traces: Arc<crate::observe::traces::TraceStore>,
    /// The one store every mechanism keeps its state in.
    pub(crate) store: Arc<dyn Store>,
    control: axum::Router,
}

/// Builds a [`Stack`], optionally with a manual clock.
pub struct StackBuilder<'a> {
    config: Config,
    registry: &'a Registry,
    clock: Clock,
    store: Option<Arc<dyn Store>>,
    default_store: StoreKind,
}

impl<'a> StackBuilder<'a> {
    /// Uses `clock` for every time-dependent mechanism.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Assembles the stack on an empty in-memory store, or on the store given to
    /// [`StackBuilder::store`], without reading anything back from it.
    ///
    /// # Panics
    ///
    /// When the config names a durable store and none was given: durable state must be
    /// read back, which only [`StackBuilder::open`] does.
    pub fn build(self) -> Stack {
        let StackBuilder {
            config,
            registry,
            clock,
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
        let functions = crate::invoke::build::functions(&config, registry, &logs, &clock, &|cmd| {
            std::sync::Arc::new(crate::invoke::ExternalFactory::new(cmd))
        });
        crate::invoke::build::warm_provisioned(&functions);
        let metrics = Arc::new(Metrics::new(clock.clone()));
        if let Some(health) = store.health() {
            health.attach_metrics(&metrics);
        }
        for (name, f) in functions.iter().filter(|_| config.logs.metrics) {
            let _ = f
                .metrics
                .set(crate::observe::lambda_metrics::LambdaMetrics::new(
                    metrics.clone(),
                    name,
                ));
        }
        let mut router = Router::new(&config.apis, &metrics);
        crate::gateway::caching::attach(&mut router, &config.apis, &clock);
        crate::gateway::stage_logs::attach(&mut router, &config.apis, &logs);
        // Config::from_toml validated the traffic config; only the OS randomness that
        // generates key values can still fail here, and then no safe stack exists.
        let traffic = TrafficState::new(&config.traffic, store.clone(), clock.clone())
            .unwrap_or_else(|e| panic!("cannot set up traffic management: {e}"));
        let inner = Arc::new_cyclic(|weak: &Weak<StackInner>| {
            let workflows = WorkflowService::new(clock.clone(), Arc::new(StackTasks(weak.clone())));
            StackInner {
                control: crate::aws::router(
                    weak.clone(),
                    crate::aws::stepfunctions::router(workflows.clone()),
                ),
                access_log: logs.group(pipeline::ACCESS_LOG_GROUP),
                traffic: Arc::new(traffic),
                traces: Arc::default(),
                store: store.clone(),
                workflows,
                metrics,
                config,
                router,
                functions,
                logs,
                clock,
                access_stream: Arc::from("access"),
            }
        });
        if inner.config.logs.metrics {
            inner.workflows.attach_metrics(inner.metrics.clone());
        }
        if store.durable() {
            inner.workflows.attach_store(store.clone());
            for f in inner.functions.values() {
                for version in std::iter::once(f).chain(f.versions()) {
                    let _ = version.events.set(store.clone());
                }
            }
        }
        // Registered once the stack exists: checking a definition asks it which functions exist.
        for decl in inner.config.workflows.values() {
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
        Stack { inner }
    }
}

impl Stack {
    /// Starts building a stack from a validated config and the user's handlers.
    pub fn builder(config: Config, registry: &Registry) -> StackBuilder<'_> {
        StackBuilder {
            config,
            registry,
            clock: Clock::system(),
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

    /// The configuration the stack runs.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The log groups.
    pub fn logs(&self) -> &LogStore {
        &self.inner.logs
    }

    /// A function by name.
    pub fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.inner.functions.get(name).cloned()
    }

    /// The names of every function.
    pub fn function_names(&self) -> Vec<String> {
        self.inner.functions.keys().cloned().collect()
    }

    /// The Step Functions service holding state machines and executions.
    pub fn workflows(&self) -> &Arc<WorkflowService> {
        &self.inner.workflows
    }

    /// The most recent requests' timelines.
    pub fn traces(&self) -> &crate::observe::traces::TraceStore {
        &self.inner.traces
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
        crate::gateway::caching::stage_caches(&self.inner.router)
    }
}

/// Lets workflow Task states call the stack's functions.
struct StackTasks(Weak<StackInner>);

#[async_trait::async_trait]
impl TaskInvoker for StackTasks {
    async fn invoke(
        &self,
        function: &str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, TaskFailure> {
        let Some(stack) = self.0.upgrade() else {
            return Err(TaskFailure {
                error: "States.Runtime".into(),
                cause: "the stack is shutting down".into(),
            });
        };
        let Some(f) = stack.function(function).cloned() else {
            return Err(crate::workflow::task::missing_function(function));
        };
        let outcome = f.invoke(Invocation::new(Payload::Json(payload))).await;
        match outcome.result {
            Ok(result) => result.into_value().map_err(|e| TaskFailure {
                error: "Runtime.MarshalError".into(),
                cause: format!("Unable to marshal response: {e}"),
            }),
            Err(err) => Err(TaskFailure {
                cause: err.to_json().to_string(),
                error: err.error_type,
            }),
        }
    }

    fn exists(&self, function: &str) -> bool {
        self.0
            .upgrade()
            .is_some_and(|s| s.functions.contains_key(function))
    }
}

impl StackInner {
    pub(crate) fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }
}
