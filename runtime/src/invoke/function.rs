//! A registered handler with its settings, and one invocation of it: context, deadline,
//! panic isolation, and the log lines Lambda writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use super::handler::ErasedHandler;
use super::report::InvocationRecord;
use super::{Context, FunctionConfig, FunctionError, Payload};
use crate::observe::logs::{LogGroup, LogRecord};
use crate::observe::{self, ids, timefmt, LogFormat, LogStore};
use crate::Clock;

/// The account id every ARN of the local stack carries.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region every ARN of the local stack carries.
pub const REGION: &str = "us-east-1";
/// How much of an invocation's log `X-Amz-Log-Type: Tail` returns.
const LOG_TAIL_BYTES: usize = 4096;

/// The settings of a function, resolved from config with Lambda's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSettings {
    /// Memory in MB (Lambda's default 128).
    pub memory_mb: u32,
    /// How long an invocation may run (Lambda's default 3 s).
    pub timeout: Duration,
    /// Environment variables visible through [`Context::env`].
    pub environment: HashMap<String, String>,
    /// Text or JSON logs.
    pub log_format: LogFormat,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            environment: HashMap::new(),
            log_format: LogFormat::Text,
        }
    }
}

/// One request to run a function.
#[derive(Debug)]
pub struct Invocation {
    /// The event.
    pub payload: Payload,
    /// The X-Ray trace header to hand to the function.
    pub trace_id: Option<String>,
    /// Decoded `X-Amz-Client-Context`.
    pub client_context: Option<serde_json::Value>,
    /// Whether the caller wants the log tail back.
    pub want_log_tail: bool,
}

impl Invocation {
    /// An invocation with nothing but an event.
    pub fn new(payload: Payload) -> Self {
        Invocation {
            payload,
            trace_id: None,
            client_context: None,
            want_log_tail: false,
        }
    }
}

/// How an invocation ended.
#[derive(Debug)]
pub struct Outcome {
    /// The Lambda request id.
    pub request_id: String,
    /// The version that ran.
    pub executed_version: Arc<str>,
    /// The handler's result or its failure.
    pub result: Result<Payload, FunctionError>,
    /// The last 4 KB of the invocation's log, when asked for.
    pub log_tail: Option<String>,
}

/// A function ready to be invoked.
pub struct Function {
    name: String,
    arn: String,
    settings: FunctionSettings,
    handler: Arc<dyn ErasedHandler>,
    env_config: Arc<FunctionConfig>,
    lambda_config: Arc<lambda_runtime::Config>,
    environment: Arc<HashMap<String, String>>,
    log_stream: Arc<str>,
    version: Arc<str>,
    log_group: Arc<LogGroup>,
    clock: Clock,
    /// AWS/Lambda metrics, attached by the stack once its registry exists.
    pub(crate) metrics: std::sync::OnceLock<observe::lambda_metrics::LambdaMetrics>,
}

impl Function {
    pub(crate) fn new(
        name: &str,
        handler: Arc<dyn ErasedHandler>,
        settings: FunctionSettings,
        logs: Arc<LogStore>,
        clock: Clock,
    ) -> Self {
        let version: Arc<str> = Arc::from("$LATEST");
        let date = timefmt::slash_date(clock.now_millis());
        let log_stream: Arc<str> = Arc::from(format!("{date}/[{version}]{}", ids::hex(32)));
        let env_config = Arc::new(FunctionConfig {
            function_name: name.to_owned(),
            memory_mb: settings.memory_mb,
            version: version.to_string(),
            log_group: format!("/aws/lambda/{name}"),
            log_stream: log_stream.to_string(),
        });
        let lambda_config = Arc::new(lambda_runtime::Config {
            function_name: env_config.function_name.clone(),
            memory: env_config.memory_mb as i32,
            version: env_config.version.clone(),
            log_stream: env_config.log_stream.clone(),
            log_group: env_config.log_group.clone(),
        });
        Function {
            log_group: logs.group(&env_config.log_group),
            lambda_config,
            name: name.to_owned(),
            arn: function_arn(name),
            environment: Arc::new(settings.environment.clone()),
            settings,
            handler,
            env_config,
            log_stream,
            version,
            clock,
            metrics: Default::default(),
        }
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function's unqualified ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The function's settings.
    pub fn settings(&self) -> &FunctionSettings {
        &self.settings
    }

    /// The log group its invocations write to.
    pub fn log_group(&self) -> &str {
        &self.env_config.log_group
    }

    /// Runs one invocation to its end: success, handler error, panic or timeout.
    pub async fn invoke(&self, invocation: Invocation) -> Outcome {
        let request_id = ids::uuid();
        let metered = observe::lambda_metrics::start(&self.metrics);
        let started = Instant::now();
        let start_ms = self.clock.now_millis();
        let timeout = self.settings.timeout;
        let ctx = Context {
            request_id: request_id.clone(),
            deadline: start_ms + timeout.as_millis() as u64,
            invoked_function_arn: self.arn.clone(),
            xray_trace_id: invocation.trace_id,
            client_context: invocation.client_context,
            identity: None,
            env_config: self.env_config.clone(),
            lambda_config: self.lambda_config.clone(),
            environment: self.environment.clone(),
            clock: self.clock.clone(),
        };
        let call =
            std::panic::AssertUnwindSafe(self.handler.call(invocation.payload, ctx)).catch_unwind();
        let (outcome, captured) =
            observe::capture::capture(self.clock.timeout(timeout, call)).await;
        let mut timed_out_after = None;
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(FunctionError::panicked(panic_message(&panic))),
            Err(_elapsed) => {
                let secs = timeout.as_secs_f64();
                timed_out_after = Some(secs);
                Err(FunctionError::timed_out(&request_id, secs))
            }
        };
        let duration_ms = if timed_out_after.is_some() {
            timeout.as_secs_f64() * 1000.0
        } else {
            started.elapsed().as_secs_f64() * 1000.0
        };
        let record = InvocationRecord {
            format: self.settings.log_format,
            time_ms: start_ms,
            request_id: request_id.clone(),
            version: self.version.clone(),
            duration_ms,
            memory_mb: self.settings.memory_mb,
            max_memory_used_mb: observe::max_memory_used_mb(),
            init_duration_ms: None,
            timed_out_after,
            error: result.as_ref().err().cloned(),
            captured,
        };
        if let Some(m) = metered {
            m.finish(result.is_err(), duration_ms, record.init_duration_ms);
        }
        let log_tail = invocation.want_log_tail.then(|| tail(&record.lines()));
        self.log_group
            .push_record(&self.log_stream, start_ms, Arc::new(record));
        Outcome {
            request_id,
            executed_version: self.version.clone(),
            result,
            log_tail,
        }
    }
}

/// `arn:aws:lambda:us-east-1:123456789012:function:NAME`
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

fn tail(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    if text.len() > LOG_TAIL_BYTES {
        let mut cut = text.len() - LOG_TAIL_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
    text
}
