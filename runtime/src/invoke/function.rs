//! A function version with its settings and instance pool, and one invocation of it:
//! concurrency, cold start, context, deadline, panic isolation, and the log lines Lambda writes.

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;

mod cold_start;
mod ending;

use ending::{panicked, tail, timed_out, within};

use super::asynchronous::AsyncQueue;
use super::concurrency::{Concurrency, Throttled};
use super::instance::Factory;
use super::pool::Pool;
use super::qualifiers::Qualifiers;
use super::report::{InvocationRecord, RecordId};
use super::{Context, FunctionError, FunctionSettings, Payload};
use crate::observe::logs::{LogGroup, LogRecord};
use crate::observe::{self, ids, LogStore};
use crate::Clock;

/// The account id every ARN of the local stack carries.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region every ARN of the local stack carries.
pub const REGION: &str = "us-east-1";

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
    /// Run on a new instance even if a warm one is idle (`X-Portico-Cold-Start: force`).
    pub force_cold_start: bool,
    /// The request id to use (asynchronous invocations keep theirs across retries).
    pub request_id: Option<String>,
    /// The ARN the caller named (with its qualifier), when it differs from the version's.
    pub invoked_arn: Option<String>,
}

impl Invocation {
    /// An invocation with nothing but an event.
    pub fn new(payload: Payload) -> Self {
        Invocation {
            payload,
            trace_id: None,
            client_context: None,
            want_log_tail: false,
            force_cold_start: false,
            request_id: None,
            invoked_arn: None,
        }
    }
}

/// How an invocation ended.
#[derive(Debug)]
pub struct Outcome {
    /// The Lambda request id.
    pub request_id: String,
    /// The version that ran.
    pub executed_version: &'static str,
    /// The handler's result or its failure.
    pub result: Result<Payload, FunctionError>,
    /// The last 4 KB of the invocation's log, when asked for.
    pub log_tail: Option<String>,
}

/// A function version ready to be invoked.
pub struct Function {
    name: String,
    arn: String,
    settings: FunctionSettings,
    factory: Arc<dyn Factory>,
    environment: Arc<HashMap<String, String>>,
    /// Interned: every invocation's record and outcome name it by pointer.
    version: &'static str,
    log_group_name: String,
    log_group: Arc<LogGroup>,
    clock: Clock,
    pool: Pool,
    concurrency: Arc<Concurrency>,
    provisioned: tokio::sync::OnceCell<()>,
    provisioned_owed: AtomicU32,
    pub(crate) qualifiers: Qualifiers,
    pub(crate) queue: OnceLock<AsyncQueue>,
    /// Where accepted `Event` invocations are recorded, attached by the stack.
    pub(crate) events: OnceLock<Arc<dyn crate::store::Store>>,
    /// AWS/Lambda metrics, attached by the stack once its registry exists.
    pub(crate) metrics: std::sync::OnceLock<observe::lambda_metrics::LambdaMetrics>,
}

/// Everything [`Function::new`] needs besides the name and settings.
pub(crate) struct FunctionParts {
    pub factory: Arc<dyn Factory>,
    pub version: String,
    pub logs: Arc<LogStore>,
    pub clock: Clock,
    pub concurrency: Arc<Concurrency>,
    pub qualifiers: Qualifiers,
}

impl Function {
    pub(crate) fn new(name: &str, settings: FunctionSettings, parts: FunctionParts) -> Self {
        let log_group_name = format!("/aws/lambda/{name}");
        let arn = match parts.version.as_str() {
            "$LATEST" => function_arn(name),
            v => format!("{}:{v}", function_arn(name)),
        };
        Function {
            log_group: parts.logs.group(&log_group_name),
            log_group_name,
            name: name.to_owned(),
            arn,
            environment: Arc::new(settings.environment.clone()),
            pool: Pool::new(settings.idle_timeout, parts.clock.clone()),
            settings,
            factory: parts.factory,
            version: observe::interned::intern(&parts.version),
            clock: parts.clock,
            concurrency: parts.concurrency,
            provisioned: tokio::sync::OnceCell::new(),
            provisioned_owed: AtomicU32::new(0),
            qualifiers: parts.qualifiers,
            queue: OnceLock::new(),
            events: OnceLock::new(),
            metrics: Default::default(),
        }
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ARN of this version (unqualified for `$LATEST`).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// `$LATEST` or the published version number.
    pub fn version(&self) -> &str {
        self.version
    }

    /// The function's settings.
    pub fn settings(&self) -> &FunctionSettings {
        &self.settings
    }

    /// The log group its invocations write to.
    pub fn log_group(&self) -> &str {
        &self.log_group_name
    }

    /// The clock the function's timeouts and cold starts run on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Writes a platform line to the function's log group.
    pub(crate) fn log_line(&self, line: String) {
        let stream: Arc<str> = Arc::from("platform");
        self.log_group
            .push_line(&stream, self.clock.now_millis(), line);
    }

    /// Instances idle and warm right now.
    pub fn warm_instances(&self) -> usize {
        self.pool.warm()
    }

    /// Invocations of this function (all versions) running right now.
    pub fn in_flight(&self) -> u32 {
        self.concurrency.in_flight()
    }

    /// Runs one invocation to its end; a throttle becomes a `TooManyRequestsException` error.
    pub async fn invoke(&self, invocation: Invocation) -> Outcome {
        match self.try_invoke(invocation).await {
            Ok(outcome) => outcome,
            Err(throttled) => Outcome {
                request_id: ids::uuid(),
                executed_version: self.version,
                result: Err(FunctionError::unhandled(
                    "TooManyRequestsException",
                    format!("Rate Exceeded. ({})", throttled.reason()),
                )),
                log_tail: None,
            },
        }
    }

    /// Runs one invocation to its end: success, handler error, panic or timeout; or refuses
    /// it when a concurrency cap is reached.
    pub async fn try_invoke(&self, invocation: Invocation) -> Result<Outcome, Throttled> {
        let _slot = self
            .concurrency
            .acquire()
            .inspect_err(|_| self.count_throttle())?;
        let want_log_tail = invocation.want_log_tail;
        let request_id = invocation.request_id.unwrap_or_else(ids::uuid);
        // Read once: a warm invocation starts the moment its instance is taken.
        let now = self.clock.now();
        let now_ms = epoch_millis(now);
        let metered = observe::lambda_metrics::start(&self.metrics, now_ms);
        // The warm path stays small; the cold path's larger future is boxed out of it.
        let warm = match invocation.force_cold_start || self.settings.provisioned_concurrency > 0 {
            true => None,
            false => self.pool.take(now_ms),
        };
        let (instance, init_ms, start) = match warm {
            Some(instance) => (instance, None, now),
            None => match Box::pin(self.instance(invocation.force_cold_start)).await {
                Ok((instance, init_ms)) => (instance, init_ms, self.clock.now()),
                Err((err, init_ms)) => return Ok(self.init_failed(request_id, err, init_ms)),
            },
        };
        let started = Instant::now();
        let start_ms = epoch_millis(start);
        let timeout = self.settings.timeout;
        let ctx = Context {
            request_id: request_id.clone(),
            deadline: start_ms + timeout.as_millis() as u64,
            invoked_function_arn: invocation.invoked_arn.unwrap_or_else(|| self.arn.clone()),
            xray_trace_id: invocation.trace_id,
            client_context: invocation.client_context,
            identity: None,
            env_config: instance.env_config.clone(),
            lambda_config: instance.lambda_config.clone(),
            environment: self.environment.clone(),
            clock: self.clock.clone(),
        };
        let call = std::panic::AssertUnwindSafe(instance.handler.call(invocation.payload, ctx))
            .catch_unwind();
        let (outcome, captured) =
            observe::capture::capture(within(&self.clock, start, timeout, call)).await;
        let mut timed_out_after = None;
        let mut keep = true;
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                keep = false;
                panicked(panic)
            }
            Err(_elapsed) => {
                keep = false;
                let secs = timeout.as_secs_f64();
                timed_out_after = Some(secs);
                timed_out(&request_id, secs)
            }
        };
        // A crashed external process fails its invocation and must not serve another.
        let keep = keep && !result.as_ref().is_err_and(FunctionError::is_fatal);
        let duration_ms = match timed_out_after {
            Some(_) => timeout.as_secs_f64() * 1000.0,
            None => started.elapsed().as_secs_f64() * 1000.0,
        };
        let record = InvocationRecord {
            format: self.settings.log_format,
            time_ms: start_ms,
            request_id: RecordId::new(&request_id),
            version: self.version,
            duration_ms,
            memory_mb: self.settings.memory_mb,
            max_memory_used_mb: observe::max_memory_used_mb(),
            init_duration_ms: init_ms,
            timed_out_after,
            error: result.as_ref().err().cloned(),
            captured,
        };
        let end_ms = self.clock.now_millis();
        if let Some(m) = metered {
            m.finish(
                result.is_err(),
                duration_ms,
                record.init_duration_ms,
                end_ms,
            );
        }
        let log_tail = want_log_tail.then(|| tail(&record.lines()));
        self.log_group
            .push_record(&instance.log_stream, start_ms, Arc::new(record));
        if keep {
            self.pool.put(instance, end_ms);
        } else {
            self.discard(instance);
        }
        Ok(Outcome {
            request_id,
            executed_version: self.version,
            result,
            log_tail,
        })
    }
}

impl Function {
    /// Counts a throttled invocation (out of line: the hot path is not throttled).
    #[cold]
    #[inline(never)]
    fn count_throttle(&self) {
        if let Some(m) = self.metrics.get() {
            m.throttled();
        }
    }
}

/// Milliseconds since the Unix epoch, as [`Clock::now_millis`] reads them.
fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `arn:aws:lambda:us-east-1:123456789012:function:NAME`
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}
