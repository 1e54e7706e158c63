//! A `Stack` is everything assembled from a [`Config`] and a [`Registry`]: the functions, the
//! router, the logs and the AWS APIs. It answers requests; [`serve`] puts it on a socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use tower::ServiceExt;

use crate::config::Config;
use crate::gateway::{pipeline, Router};
use crate::invoke::{Function, Registry};
use crate::observe::LogStore;
use crate::Clock;

pub use crate::gateway::server::serve;

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
    control: axum::Router,
}

/// Builds a [`Stack`], optionally with a manual clock.
pub struct StackBuilder<'a> {
    config: Config,
    registry: &'a Registry,
    clock: Clock,
}

impl<'a> StackBuilder<'a> {
    /// Uses `clock` for every time-dependent mechanism.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Assembles the stack.
    pub fn build(self) -> Stack {
        let StackBuilder {
            config,
            registry,
            clock,
        } = self;
        let logs = Arc::new(LogStore::new(config.logs.stdout));
        let functions = crate::invoke::build::functions(&config, registry, &logs, &clock, &|cmd| {
            std::sync::Arc::new(crate::invoke::ExternalFactory::new(cmd))
        });
        crate::invoke::build::warm_provisioned(&functions);
        let router = Router::new(&config.apis);
        let inner = Arc::new_cyclic(|weak| StackInner {
            control: crate::aws::router(weak.clone()),
            access_log: logs.group(pipeline::ACCESS_LOG_GROUP),
            config,
            router,
            functions,
            logs,
            clock,
            access_stream: Arc::from("access"),
        });
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

    /// The clock every mechanism uses.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }
}

impl StackInner {
    pub(crate) fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }
}
