//! How an invocation gets its instance: a warm one from the pool, or a cold start — init
//! code, then the simulated delay on the clock — and provisioned instances made at start-up.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use super::ending::panic_message;
use super::Function;
use crate::invoke::instance::{InitContext, Instance};
use crate::invoke::report::{InvocationRecord, RecordId};
use crate::invoke::{FunctionConfig, FunctionError, Outcome};
use crate::observe::{self, ids, timefmt};

impl Function {
    /// A warm instance, or a new one with its init duration in ms.
    pub(super) async fn instance(
        &self,
        force_cold: bool,
    ) -> Result<(Instance, Option<f64>), (FunctionError, f64)> {
        self.ensure_provisioned().await;
        if !force_cold {
            if let Some(instance) = self.pool.take(self.clock.now_millis()) {
                return Ok((instance, None));
            }
        }
        let real = Instant::now();
        // A provisioned instance lost to a crash or timeout is replaced by the next cold start.
        let owed = self
            .provisioned_owed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        let created = self.create(owed).await;
        let init_code = real.elapsed();
        // The simulated part of the init runs on the stack's clock, so tests advance it.
        let delay = self.settings.cold_start.sample();
        let before = self.clock.now();
        self.clock.sleep(delay).await;
        let slept = self.clock.now().duration_since(before).unwrap_or_default();
        let init_ms = (init_code + slept).as_secs_f64() * 1000.0;
        match created {
            Ok(instance) => Ok((instance, Some(init_ms))),
            Err(err) => Err((err, init_ms)),
        }
    }

    /// Initializes the provisioned instances once; later calls return at once.
    pub(crate) async fn ensure_provisioned(&self) {
        let n = self.settings.provisioned_concurrency;
        if n == 0 {
            return;
        }
        self.provisioned
            .get_or_init(|| async {
                for _ in 0..n {
                    match self.create(true).await {
                        Ok(instance) => self.pool.put(instance, self.clock.now_millis()),
                        Err(err) => tracing::error!(function = %self.name, error = %err, "provisioned instance failed to initialize"),
                    }
                }
            })
            .await;
    }

    /// Runs the init code of a new instance with its own log stream.
    async fn create(&self, provisioned: bool) -> Result<Instance, FunctionError> {
        let date = timefmt::slash_date(self.clock.now_millis());
        let log_stream: Arc<str> = Arc::from(format!("{date}/[{}]{}", self.version, ids::hex(32)));
        let env_config = Arc::new(FunctionConfig {
            function_name: self.name.clone(),
            memory_mb: self.settings.memory_mb,
            version: self.version.to_string(),
            log_group: self.log_group_name.clone(),
            log_stream: log_stream.to_string(),
        });
        let lambda_config = Arc::new(lambda_runtime::Config {
            function_name: env_config.function_name.clone(),
            memory: env_config.memory_mb as i32,
            version: env_config.version.clone(),
            log_stream: env_config.log_stream.clone(),
            log_group: env_config.log_group.clone(),
        });
        let init = InitContext {
            config: env_config.clone(),
            environment: self.environment.clone(),
            log_group: self.log_group.clone(),
            log_stream: log_stream.clone(),
            clock: self.clock.clone(),
            provisioned,
        };
        let handler = std::panic::AssertUnwindSafe(self.factory.create(&init))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(FunctionError::init_panicked(panic_message(&panic))))?;
        Ok(Instance {
            handler,
            env_config,
            lambda_config,
            log_stream,
            last_used_ms: self.clock.now_millis(),
            provisioned,
            external: self.settings.command.is_some(),
        })
    }

    /// Drops a failed instance; a provisioned one is owed back to the pool.
    pub(super) fn discard(&self, instance: Instance) {
        if instance.provisioned {
            self.provisioned_owed.fetch_add(1, Ordering::AcqRel);
        }
        drop(instance);
    }

    pub(super) fn init_failed(
        &self,
        request_id: String,
        err: FunctionError,
        init_ms: f64,
    ) -> Outcome {
        let now = self.clock.now_millis();
        let record = InvocationRecord {
            format: self.settings.log_format,
            time_ms: now,
            request_id: RecordId::new(&request_id),
            version: self.version,
            duration_ms: 0.0,
            memory_mb: self.settings.memory_mb,
            max_memory_used_mb: observe::max_memory_used_mb(),
            init_duration_ms: Some(init_ms),
            timed_out_after: None,
            error: Some(err.clone()),
            captured: Default::default(),
        };
        let stream: Arc<str> = Arc::from("init");
        self.log_group.push_record(&stream, now, Arc::new(record));
        Outcome {
            request_id,
            executed_version: self.version,
            result: Err(err),
            log_tail: None,
        }
    }
}
