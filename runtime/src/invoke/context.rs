//! The invocation context a handler receives: what `lambda_runtime::Context` carries, plus the
//! function's environment variables.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::Clock;

/// Static facts about the function being invoked (its `lambda_runtime::Config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionConfig {
    /// The function's name.
    pub function_name: String,
    /// Configured memory in MB.
    pub memory_mb: u32,
    /// The executed version, `$LATEST` or a published number.
    pub version: String,
    /// CloudWatch-style log group, `/aws/lambda/{name}`.
    pub log_group: String,
    /// The log stream of the instance serving the invocation.
    pub log_stream: String,
}

/// Everything a handler learns about its invocation.
#[derive(Clone)]
pub struct Context {
    /// The Lambda request id of this invocation.
    pub request_id: String,
    /// Deadline in milliseconds since the Unix epoch.
    pub deadline: u64,
    /// The ARN the caller invoked (with its qualifier, if any).
    pub invoked_function_arn: String,
    /// The X-Ray trace header of the request (`Root=1-...`).
    pub xray_trace_id: Option<String>,
    /// Client context sent by the caller (`X-Amz-Client-Context`), decoded JSON.
    pub client_context: Option<serde_json::Value>,
    /// Cognito identity of the caller, when known, as JSON.
    pub identity: Option<serde_json::Value>,
    /// The function's name, memory, version and log location.
    pub env_config: Arc<FunctionConfig>,
    pub(crate) lambda_config: Arc<lambda_runtime::Config>,
    /// The function's configured environment variables.
    pub environment: Arc<HashMap<String, String>>,
    pub(crate) clock: Clock,
}

impl Context {
    /// Time left before the invocation is abandoned, measured on the stack's clock.
    pub fn remaining_time(&self) -> Duration {
        Duration::from_millis(self.deadline.saturating_sub(self.clock.now_millis()))
    }

    /// One of the function's configured environment variables.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment.get(name).map(String::as_str)
    }

    /// The same context in `lambda_runtime`'s type, for handlers written for AWS's runtime.
    pub fn to_lambda_context(&self) -> lambda_runtime::Context {
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id.clone_from(&self.request_id);
        ctx.deadline = self.deadline;
        ctx.invoked_function_arn
            .clone_from(&self.invoked_function_arn);
        ctx.xray_trace_id.clone_from(&self.xray_trace_id);
        // lambda_runtime does not export these types; they are reachable through serde only.
        ctx.client_context = self
            .client_context
            .clone()
            .and_then(|v| serde_json::from_value(v).ok());
        ctx.identity = self
            .identity
            .clone()
            .and_then(|v| serde_json::from_value(v).ok());
        ctx.env_config = self.lambda_config.clone();
        ctx
    }
}

impl Context {
    /// The `lambda_runtime` context, taking this one's strings instead of copying them: the
    /// per-invocation path (see `FnHandler`).
    pub(crate) fn into_lambda_context(self) -> lambda_runtime::Context {
        // A clone of an empty template costs no allocation; `Default` allocates a config.
        let mut ctx = EMPTY_LAMBDA_CONTEXT.with(lambda_runtime::Context::clone);
        ctx.request_id = self.request_id;
        ctx.deadline = self.deadline;
        ctx.invoked_function_arn = self.invoked_function_arn;
        ctx.xray_trace_id = self.xray_trace_id;
        // lambda_runtime does not export these types; they are reachable through serde only.
        ctx.client_context = self
            .client_context
            .and_then(|v| serde_json::from_value(v).ok());
        ctx.identity = self.identity.and_then(|v| serde_json::from_value(v).ok());
        ctx.env_config = self.lambda_config;
        ctx
    }
}

thread_local! {
    static EMPTY_LAMBDA_CONTEXT: lambda_runtime::Context = lambda_runtime::Context::default();
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.request_id)
            .field("deadline", &self.deadline)
            .field("invoked_function_arn", &self.invoked_function_arn)
            .field("xray_trace_id", &self.xray_trace_id)
            .field("env_config", &self.env_config)
            .finish_non_exhaustive()
    }
}
