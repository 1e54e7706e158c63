//! The `Handler` trait and the adapter that registers AWS-style `async fn(LambdaEvent<T>)`
//! handlers unchanged.

use std::future::Future;
use std::marker::PhantomData;

use async_trait::async_trait;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Context, FunctionError, Payload};

/// A function handler over JSON values.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one invocation.
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, FunctionError>;
}

/// What the runtime calls: a handler over [`Payload`], so typed handlers skip JSON entirely.
#[async_trait]
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    async fn call(&self, event: Payload, ctx: Context) -> Result<Payload, FunctionError>;
}

pub(crate) struct ValueHandler<H>(pub H);

#[async_trait]
impl<H: Handler> ErasedHandler for ValueHandler<H> {
    async fn call(&self, event: Payload, ctx: Context) -> Result<Payload, FunctionError> {
        let event = event.into_value().map_err(FunctionError::bad_event)?;
        self.0.call(event, ctx).await.map(Payload::Json)
    }
}

/// Adapts `async fn(LambdaEvent<T>) -> Result<R, E>`, the signature of AWS's `lambda_runtime`.
pub(crate) struct FnHandler<F, T, R, E> {
    f: F,
    _types: PhantomData<fn(T) -> (R, E)>,
}

impl<F, T, R, E> FnHandler<F, T, R, E> {
    pub(crate) fn new(f: F) -> Self {
        FnHandler {
            f,
            _types: PhantomData,
        }
    }
}

#[async_trait]
impl<F, Fut, T, R, E> ErasedHandler for FnHandler<F, T, R, E>
where
    F: Fn(LambdaEvent<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    E: Into<Diagnostic> + Send + 'static,
{
    async fn call(&self, event: Payload, ctx: Context) -> Result<Payload, FunctionError> {
        let payload = event.into_boxed::<T>().map_err(FunctionError::bad_event)?;
        // The one move of the event left: out of its Box into the handler's argument.
        let event = LambdaEvent::new(*payload, ctx.into_lambda_context());
        match (self.f)(event).await {
            Ok(result) => Ok(Payload::typed(result)),
            Err(err) => {
                let diagnostic: Diagnostic = err.into();
                Err(FunctionError::unhandled(
                    diagnostic.error_type,
                    diagnostic.error_message,
                ))
            }
        }
    }
}
