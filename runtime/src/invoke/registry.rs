//! The user's handlers, registered by name before the stack starts.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::handler::{FnHandler, ValueHandler};
use super::instance::{Factory, InitContext, Shared, WithInit};
use super::{FunctionError, Handler};

/// Handlers by function name. Nothing in the runtime knows a user function by name; the
/// registry is how the user's crate hands them over.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: BTreeMap<String, Arc<dyn Factory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a [`Handler`] over JSON values. A later registration under the same name
    /// replaces the earlier one.
    pub fn register<H: Handler>(&mut self, name: &str, handler: H) -> &mut Self {
        self.handlers.insert(
            name.to_owned(),
            Arc::new(Shared(Arc::new(ValueHandler(handler)))),
        );
        self
    }

    /// Registers a handler built by init code that runs once per instance (on every cold
    /// start), as code outside a Lambda handler does: build clients, load config, warm caches.
    pub fn register_with_init<I, Fut, H>(&mut self, name: &str, init: I) -> &mut Self
    where
        I: Fn(InitContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<H, FunctionError>> + Send + 'static,
        H: Handler,
    {
        self.handlers
            .insert(name.to_owned(), Arc::new(WithInit::new(init)));
        self
    }

    /// Registers a plain `async fn(LambdaEvent<T>) -> Result<R, E>`, the handler signature of
    /// AWS's `lambda_runtime` crate, unchanged.
    pub fn register_fn<F, Fut, T, R, E>(&mut self, name: &str, f: F) -> &mut Self
    where
        F: Fn(LambdaEvent<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<Diagnostic> + Send + 'static,
    {
        self.handlers.insert(
            name.to_owned(),
            Arc::new(Shared(Arc::new(FnHandler::new(f)))),
        );
        self
    }

    /// Whether a handler is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn Factory>> {
        self.handlers.get(name).cloned()
    }
}
