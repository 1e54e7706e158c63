//! The thin async driver: walks a [`Plan`], performs what [`step`] asks for (sleeping on the
//! clock, invoking functions, fanning out Map and Parallel), applies Retry and Catch, and
//! records history.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::error::{names, StateError};
use super::history::{self, History};
use super::plan::{Catcher, Kind, PathSetting, Plan, Retrier, State};
use super::step::{self, Action, Done};
use super::task::TaskInvoker;
use super::template::Env;
use super::timestamp;
use crate::clock::Clock;

mod fanout;
mod task_call;

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Identity of the running execution, for the context object.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    /// Execution ARN.
    pub id: String,
    /// Execution name.
    pub name: String,
    /// Execution input.
    pub input: Value,
    /// When it started.
    pub start_time: SystemTime,
    /// The role ARN.
    pub role_arn: String,
    /// State machine ARN.
    pub machine_id: String,
    /// State machine name.
    pub machine_name: String,
}

/// Runs plans for one execution.
#[derive(Clone)]
pub struct Runner {
    /// The clock for Wait, Retry and timeouts.
    pub clock: Clock,
    /// Calls functions for Task states.
    pub invoker: Arc<dyn TaskInvoker>,
    /// The execution's history.
    pub history: History,
    /// Execution identity.
    pub info: Arc<ExecutionInfo>,
    /// The X-Ray trace it runs under, if any.
    pub trace: Option<Arc<super::trace::ExecutionTrace>>,
}

const PREFIX: &str = "An error occurred while executing the state";

/// The `*StateEntered` / `*StateExited` event types of a state.
fn event_types(s: &State) -> (&'static str, &'static str) {
    match s.kind {
        Kind::Pass { .. } => ("PassStateEntered", "PassStateExited"),
        Kind::Task { .. } => ("TaskStateEntered", "TaskStateExited"),
        Kind::Choice { .. } => ("ChoiceStateEntered", "ChoiceStateExited"),
        Kind::Wait(_) => ("WaitStateEntered", "WaitStateExited"),
        Kind::Succeed => ("SucceedStateEntered", "SucceedStateExited"),
        Kind::Fail { .. } => ("FailStateEntered", "FailStateExited"),
        Kind::Parallel { .. } => ("ParallelStateEntered", "ParallelStateExited"),
        Kind::Map(_) => ("MapStateEntered", "MapStateExited"),
    }
}

impl Runner {
    /// Runs `plan` from its start state to the end, returning the final output.
    pub fn run_plan<'a>(
        &'a self,
        plan: &'a Plan,
        input: Value,
        vars: Map<String, Value>,
    ) -> BoxFut<'a, Result<Value, StateError>> {
        Box::pin(async move {
            let mut vars = vars;
            let mut idx = plan.start;
            let mut input = input;
            loop {
                let state = &plan.states[idx];
                let (entered_type, exited_type) = event_types(state);
                let entered_at = self.clock.now();
                let entered_id = self.history.record(
                    entered_at,
                    entered_type,
                    Some(history::entered(&state.name, &input)),
                );
                let timeline = self.trace.as_ref().and_then(|t| t.states.as_ref());
                let span = timeline.map(|_| crate::observe::ids::span_id());
                let began = std::time::Instant::now();
                let ran = self.run_state(state, &input, &vars, entered_at, span).await;
                if let (Some(timeline), Some(span)) = (timeline, span) {
                    let failed = ran.as_ref().err().map(|e| e.error.clone());
                    let ty = super::trace::state_type(state);
                    timeline.record(&state.name, ty, span, began, failed);
                }
                let done = match ran {
                    Ok(d) => d,
                    Err(mut e) => {
                        let runtime =
                            e.error == names::RUNTIME || e.error == names::QUERY_EVALUATION;
                        if runtime && !e.cause.starts_with(PREFIX) {
                            e.cause = format!(
                                "{PREFIX} '{}' (entered at the event id #{entered_id}). {}",
                                state.name, e.cause
                            );
                        }
                        return Err(e);
                    }
                };
                vars.extend(done.assigned);
                self.history.record(
                    self.clock.now(),
                    exited_type,
                    Some(history::exited(&state.name, &done.output)),
                );
                match done.next {
                    Some(n) if !matches!(state.kind, Kind::Succeed) => {
                        idx = n;
                        input = done.output;
                    }
                    _ => return Ok(done.output),
                }
            }
        })
    }

    /// The context object (`$$`) for a state.
    pub fn context(
        &self,
        state: &str,
        entered: SystemTime,
        retry: u32,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let info = &self.info;
        let mut ctx = json!({
            "Execution": {
                "Id": info.id,
                "Input": info.input,
                "Name": info.name,
                "RoleArn": info.role_arn,
                "StartTime": timestamp::iso(info.start_time),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": timestamp::iso(entered),
                "Name": state,
                "RetryCount": retry,
            },
            "StateMachine": {"Id": info.machine_id, "Name": info.machine_name},
        });
        if let (Some((i, v)), Some(o)) = (item, ctx.as_object_mut()) {
            o.insert("Map".into(), json!({"Item": {"Index": i, "Value": v}}));
        }
        ctx
    }

    async fn run_state(
        &self,
        state: &State,
        raw: &Value,
        vars: &Map<String, Value>,
        entered: SystemTime,
        span: Option<u64>,
    ) -> Result<Done, StateError> {
        let mut retry_count = 0u32;
        let mut attempts = vec![0u64; state.retry.len()];
        loop {
            let ctx = if state.needs_context {
                self.context(&state.name, entered, retry_count, None)
            } else {
                Value::Null
            };
            let env = Env {
                context: &ctx,
                vars,
            };
            let effective = match step::step(state, raw, &env)? {
                Action::Done(d) => return Ok(d),
                Action::Fail(e) => return Err(e),
                Action::Wait { until, then } => {
                    self.clock.sleep_until(until).await;
                    return Ok(then);
                }
                Action::Work(effective) => effective,
            };
            let outcome = match &state.kind {
                Kind::Task { .. } => self.task(state, effective, &env, span).await,
                Kind::Parallel { branches } => {
                    self.parallel(state, branches, effective, vars).await
                }
                Kind::Map(spec) => self.map(state, spec, effective, raw, &env).await,
                _ => Err(StateError::runtime("unexpected work for this state type")),
            };
            let err = match outcome.and_then(|result| step::complete(state, raw, result, &env)) {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            if let Some(i) = matching_retrier(&state.retry, &err, &attempts) {
                let r = &state.retry[i];
                attempts[i] += 1;
                retry_count += 1;
                self.clock.sleep(retry_delay(r, attempts[i])).await;
                continue;
            }
            if let Some(c) = state.catch.iter().find(|c| matches(&c.error_equals, &err)) {
                return self.caught(state, c, raw, err, &env);
            }
            return Err(err);
        }
    }

    fn caught(
        &self,
        state: &State,
        c: &Catcher,
        raw: &Value,
        err: StateError,
        env: &Env<'_>,
    ) -> Result<Done, StateError> {
        let error_output = json!({"Error": err.error, "Cause": err.cause});
        if state.jsonata {
            let states = step::states_obj(raw, env, None, Some(&error_output));
            let assigned = step::assign_value(
                true,
                c.assign.as_ref(),
                None,
                raw,
                raw,
                None,
                Some(&error_output),
                env,
            )?;
            let output = match &c.output {
                Some(o) => super::template::eval_jsonata(o, "Output", &states, env.vars)?,
                None => error_output,
            };
            return Ok(Done {
                next: Some(c.next),
                output,
                assigned,
            });
        }
        let assigned = step::assign_value(
            false,
            c.assign.as_ref(),
            None,
            raw,
            &error_output,
            None,
            None,
            env,
        )?;
        let output = match &c.result_path {
            PathSetting::Default => error_output,
            PathSetting::Null => raw.clone(),
            PathSetting::Path(p) => {
                let mut target = raw.clone();
                p.write(&mut target, error_output)
                    .map_err(StateError::runtime)?;
                target
            }
        };
        Ok(Done {
            next: Some(c.next),
            output,
            assigned,
        })
    }
}

/// Whether an `ErrorEquals` list matches an error, with AWS's wildcard rules.
pub fn matches(list: &[String], err: &StateError) -> bool {
    let terminal = err.error == names::RUNTIME || err.error == names::DATA_LIMIT;
    list.iter().any(|name| {
        name == &err.error
            || (name == names::ALL && !terminal)
            || (name == names::TASK_FAILED
                && !terminal
                && err.error != names::TIMEOUT
                && !err.error.starts_with("States."))
    })
}

fn matching_retrier(retry: &[Retrier], err: &StateError, attempts: &[u64]) -> Option<usize> {
    let i = retry.iter().position(|r| matches(&r.error_equals, err))?;
    (attempts[i] < retry[i].max_attempts).then_some(i)
}

fn retry_delay(r: &Retrier, attempt: u64) -> Duration {
    let mut secs = r.interval_seconds * r.backoff_rate.powi(attempt.saturating_sub(1) as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max);
    }
    if r.full_jitter {
        use rand::Rng;
        secs *= rand::thread_rng().gen_range(0.0..=1.0);
    }
    Duration::try_from_secs_f64(secs.clamp(0.0, 1.0e9)).unwrap_or(Duration::ZERO)
}
