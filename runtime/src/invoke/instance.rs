//! Instances (Lambda's execution environments): how a function's instances are made, and
//! what one carries while it lives in the pool.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;

use super::handler::{ErasedHandler, ValueHandler};
use super::{FunctionConfig, FunctionError, Handler};
use crate::observe::logs::LogGroup;
use crate::Clock;

/// What the init code of a new instance learns about it.
#[derive(Clone)]
pub struct InitContext {
    /// The function's name, memory, version and log location (the instance's own stream).
    pub config: Arc<FunctionConfig>,
    /// The function's configured environment variables.
    pub environment: Arc<HashMap<String, String>>,
    pub(crate) log_group: Arc<LogGroup>,
    pub(crate) log_stream: Arc<str>,
    pub(crate) clock: Clock,
    pub(crate) provisioned: bool,
}

impl std::fmt::Debug for InitContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Makes the handler of a new instance: runs its init code.
#[async_trait]
pub(crate) trait Factory: Send + Sync + 'static {
    async fn create(&self, init: &InitContext) -> Result<Arc<dyn ErasedHandler>, FunctionError>;
}

/// A handler without init code: every instance shares it.
pub(crate) struct Shared(pub Arc<dyn ErasedHandler>);

#[async_trait]
impl Factory for Shared {
    async fn create(&self, _init: &InitContext) -> Result<Arc<dyn ErasedHandler>, FunctionError> {
        Ok(self.0.clone())
    }
}

/// A handler built by user init code, once per instance.
pub(crate) struct WithInit<I, H> {
    init: I,
    _handler: PhantomData<fn() -> H>,
}

impl<I, H> WithInit<I, H> {
    pub(crate) fn new(init: I) -> Self {
        WithInit {
            init,
            _handler: PhantomData,
        }
    }
}

#[async_trait]
impl<I, Fut, H> Factory for WithInit<I, H>
where
    I: Fn(InitContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<H, FunctionError>> + Send + 'static,
    H: Handler,
{
    async fn create(&self, init: &InitContext) -> Result<Arc<dyn ErasedHandler>, FunctionError> {
        let handler = (self.init)(init.clone()).await?;
        Ok(Arc::new(ValueHandler(handler)))
    }
}

/// One live instance, idle in the pool or serving an invocation.
pub(crate) struct Instance {
    pub handler: Arc<dyn ErasedHandler>,
    pub env_config: Arc<FunctionConfig>,
    pub lambda_config: Arc<lambda_runtime::Config>,
    pub log_stream: Arc<str>,
    /// When it last finished an invocation (ms since the epoch, on the stack's clock).
    pub last_used_ms: u64,
    /// Provisioned instances are never evicted for idleness.
    pub provisioned: bool,
    /// Whether it runs an external process (which an idle reaper must stop).
    pub external: bool,
}
