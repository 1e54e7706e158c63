//! Task states: resolve the function, invoke it with a timeout, record Lambda events.

use std::time::Duration;

use serde_json::{json, Value};

use super::Runner;
use crate::workflow::error::{names, StateError};
use crate::workflow::history::not_truncated;
use crate::workflow::plan::{Dyn, Kind, State};
use crate::workflow::step::states_obj;
use crate::workflow::task::{function_name, lambda_invoke_result, missing_function, Resource};
use crate::workflow::template::{eval_jsonata, invalid_path, Env};

impl Runner {
    pub(super) async fn task(
        &self,
        state: &State,
        input: Value,
        env: &Env<'_>,
        span: Option<u64>,
    ) -> Result<Value, StateError> {
        let Kind::Task {
            resource, timeout, ..
        } = &state.kind
        else {
            return Err(StateError::runtime("not a Task state"));
        };
        let timeout = self.seconds(state, timeout.as_ref(), &input, env)?;
        let (function, payload, wrapped) = match resource {
            Resource::Function { name, .. } => (name.clone(), input.clone(), false),
            Resource::LambdaInvoke => {
                let fname = input
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| StateError::runtime("The field 'FunctionName' is required for arn:aws:states:::lambda:invoke"))?;
                (
                    function_name(fname),
                    input.get("Payload").cloned().unwrap_or(json!({})),
                    true,
                )
            }
            Resource::Other(arn) => {
                return Err(StateError::runtime(format!(
                    "The resource '{arn}' is not supported by Portico"
                )));
            }
        };
        let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
        let now = || self.clock.now();
        if wrapped {
            self.history.record(now(), "TaskScheduled", Some(("taskScheduledEventDetails", json!({
                "resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
                "parameters": input.clone(), "timeoutInSeconds": timeout.map(|d| d.as_secs()),
            }))));
            self.history.record(
                now(),
                "TaskStarted",
                Some((
                    "taskStartedEventDetails",
                    json!({"resourceType": "lambda", "resource": "invoke"}),
                )),
            );
        } else {
            self.history.record(
                now(),
                "LambdaFunctionScheduled",
                Some((
                    "lambdaFunctionScheduledEventDetails",
                    json!({
                        "resource": arn, "input": payload.clone(), "inputDetails": not_truncated(),
                        "timeoutInSeconds": timeout.map(|d| d.as_secs()),
                    }),
                )),
            );
            self.history.record(now(), "LambdaFunctionStarted", None);
        }
        let call = async {
            if !self.invoker.exists(&function) {
                return Err(missing_function(&function));
            }
            let trace = self.trace.as_ref().map(|t| t.for_state(span));
            self.invoker.invoke_traced(&function, payload, trace).await
        };
        let outcome = match timeout {
            Some(d) => match self.clock.timeout(d, call).await {
                Ok(r) => r.map_err(|f| StateError::new(f.error, f.cause)),
                Err(_) => Err(StateError::new(names::TIMEOUT, "")),
            },
            None => call.await.map_err(|f| StateError::new(f.error, f.cause)),
        };
        match outcome {
            Ok(out) => {
                let result = if wrapped {
                    lambda_invoke_result(out, &uuid::Uuid::new_v4().to_string())
                } else {
                    out
                };
                if wrapped {
                    self.history.record(now(), "TaskSucceeded", Some(("taskSucceededEventDetails", json!({
                        "resourceType": "lambda", "resource": "invoke", "output": result.clone(), "outputDetails": not_truncated(),
                    }))));
                } else {
                    self.history.record(
                        now(),
                        "LambdaFunctionSucceeded",
                        Some((
                            "lambdaFunctionSucceededEventDetails",
                            json!({
                                "output": result.clone(), "outputDetails": not_truncated(),
                            }),
                        )),
                    );
                }
                Ok(result)
            }
            Err(e) => {
                let details = json!({"error": e.error, "cause": e.cause});
                let (ty, key) = match (wrapped, e.error == names::TIMEOUT) {
                    (true, true) => ("TaskTimedOut", "taskTimedOutEventDetails"),
                    (true, false) => ("TaskFailed", "taskFailedEventDetails"),
                    (false, true) => (
                        "LambdaFunctionTimedOut",
                        "lambdaFunctionTimedOutEventDetails",
                    ),
                    (false, false) => ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
                };
                let details = if wrapped {
                    json!({"resourceType": "lambda", "resource": "invoke", "error": e.error, "cause": e.cause})
                } else {
                    details
                };
                self.history.record(now(), ty, Some((key, details)));
                Err(e)
            }
        }
    }

    fn seconds(
        &self,
        state: &State,
        d: Option<&Dyn>,
        input: &Value,
        env: &Env<'_>,
    ) -> Result<Option<Duration>, StateError> {
        let v = match d {
            None => return Ok(None),
            Some(Dyn::Fixed(v)) if state.jsonata => eval_jsonata(
                v,
                "TimeoutSeconds",
                &states_obj(input, env, None, None),
                env.vars,
            )?,
            Some(Dyn::Fixed(v)) => v.clone(),
            Some(Dyn::Path(p)) => env.resolve(p, input).ok_or_else(|| invalid_path(p))?,
        };
        match v.as_f64() {
            Some(s) if s > 0.0 && s < 1.0e9 => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(StateError::runtime(format!(
                "The TimeoutSeconds value {v} is not a positive integer"
            ))),
        }
    }
}
