//! The pure part of running a state: data flow in and out, and what to do next.
//! No I/O and no time: the async driver performs the returned [`Action`].

use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::error::{names, StateError};
use super::plan::{Kind, PathSetting, State, WaitFor};
use super::template::{eval_jsonata, invalid_path, Env};
use super::timestamp;

/// The largest state output AWS allows (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// What the driver must do for a state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The state is finished: go to `next` (or end when `None`) with `output`.
    Done(Done),
    /// Fail the execution (a Fail state).
    Fail(StateError),
    /// Wait until `until`, then finish as `then`.
    Wait {
        /// When to continue.
        until: SystemTime,
        /// How to continue.
        then: Done,
    },
    /// Run the Task / Parallel / Map work with this effective input, then call [`complete`].
    Work(Value),
}

/// A finished state.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// Next state index; `None` ends.
    pub next: Option<usize>,
    /// The state output.
    pub output: Value,
    /// Variables assigned by the state.
    pub assigned: Map<String, Value>,
}

/// The `$states` object JSONata expressions see.
pub fn states_obj(
    input: &Value,
    env: &Env<'_>,
    result: Option<&Value>,
    error: Option<&Value>,
) -> Value {
    let mut o = Map::new();
    o.insert("input".into(), input.clone());
    o.insert("context".into(), env.context.clone());
    if let Some(r) = result {
        o.insert("result".into(), r.clone());
    }
    if let Some(e) = error {
        o.insert("errorOutput".into(), e.clone());
    }
    Value::Object(o)
}

fn select(setting: &PathSetting, v: &Value, env: &Env<'_>) -> Result<Value, StateError> {
    match setting {
        PathSetting::Default => Ok(v.clone()),
        PathSetting::Null => Ok(json!({})),
        PathSetting::Path(p) => env.resolve(p, v).ok_or_else(|| invalid_path(p)),
    }
}

/// InputPath then Parameters (JSONPath) or Arguments (JSONata).
pub fn effective_input(state: &State, raw: &Value, env: &Env<'_>) -> Result<Value, StateError> {
    if state.jsonata {
        return match &state.arguments {
            Some(args) => eval_jsonata(
                args,
                "Arguments",
                &states_obj(raw, env, None, None),
                env.vars,
            ),
            None => Ok(raw.clone()),
        };
    }
    let input = select(&state.input_path, raw, env)?;
    match &state.parameters {
        Some(t) => t.eval(&input, env),
        None => Ok(input),
    }
}

/// Evaluates `Assign` (JSONPath: against `subject`; JSONata: with `$states`).
pub fn assign(
    state: &State,
    raw: &Value,
    subject: &Value,
    result: Option<&Value>,
    env: &Env<'_>,
) -> Result<Map<String, Value>, StateError> {
    assign_value(
        state.jsonata,
        state.assign.as_ref(),
        state.assign_template.as_ref(),
        raw,
        subject,
        result,
        None,
        env,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn assign_value(
    jsonata: bool,
    raw_assign: Option<&Value>,
    template: Option<&super::template::Template>,
    raw: &Value,
    subject: &Value,
    result: Option<&Value>,
    error: Option<&Value>,
    env: &Env<'_>,
) -> Result<Map<String, Value>, StateError> {
    let out = if jsonata {
        match raw_assign {
            Some(a) => eval_jsonata(a, "Assign", &states_obj(raw, env, result, error), env.vars)?,
            None => return Ok(Map::new()),
        }
    } else {
        match (template, raw_assign) {
            (Some(t), _) => t.eval(subject, env)?,
            (None, Some(a)) => super::template::Template::compile(a)
                .map_err(StateError::runtime)?
                .eval(subject, env)?,
            (None, None) => return Ok(Map::new()),
        }
    };
    match out {
        Value::Object(m) => Ok(m),
        _ => Err(StateError::runtime(
            "The value of 'Assign' must be an object",
        )),
    }
}

/// ResultSelector, ResultPath and OutputPath (JSONPath) or Output (JSONata) for a result.
pub fn complete(
    state: &State,
    raw: &Value,
    result: Value,
    env: &Env<'_>,
) -> Result<Done, StateError> {
    if state.jsonata {
        let states = states_obj(raw, env, Some(&result), None);
        let assigned = assign(state, raw, &result, Some(&result), env)?;
        let output = match &state.output {
            Some(o) => eval_jsonata(o, "Output", &states, env.vars)?,
            None => result,
        };
        check_size(state, &output)?;
        return Ok(Done {
            next: state.next,
            output,
            assigned,
        });
    }
    let result = match &state.result_selector {
        Some(t) => t.eval(&result, env)?,
        None => result,
    };
    let assigned = assign(state, raw, &result, Some(&result), env)?;
    check_size(state, &result)?;
    let merged = match &state.result_path {
        PathSetting::Default => result,
        PathSetting::Null => raw.clone(),
        PathSetting::Path(p) => {
            let mut target = raw.clone();
            p.write(&mut target, result).map_err(|e| {
                StateError::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "Unable to apply ReferencePath {} to input {}: {e}",
                        p.text(),
                        raw
                    ),
                )
            })?;
            target
        }
    };
    let output = select(&state.output_path, &merged, env)?;
    Ok(Done {
        next: state.next,
        output,
        assigned,
    })
}

fn check_size(state: &State, v: &Value) -> Result<(), StateError> {
    // Count bytes without allocating, and stop as soon as the limit is passed.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            if self.0 > MAX_PAYLOAD_BYTES {
                return Err(std::io::Error::other("too large"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    if serde_json::to_writer(&mut Counter(0), v).is_err() {
        return Err(StateError::new(
            names::DATA_LIMIT,
            format!(
                "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                state.name
            ),
        ));
    }
    Ok(())
}

/// Input/OutputPath-only states (Choice, Wait, Succeed) in JSONPath; Output in JSONata.
fn passthrough(
    state: &State,
    raw: &Value,
    next: Option<usize>,
    extra: Option<(&Option<Value>, &Option<Value>)>,
    env: &Env<'_>,
) -> Result<Done, StateError> {
    if state.jsonata {
        let states = states_obj(raw, env, None, None);
        let (assign_v, output_v) = extra.unwrap_or((&state.assign, &state.output));
        let assigned = assign_value(true, assign_v.as_ref(), None, raw, raw, None, None, env)?;
        let output = match output_v {
            Some(o) => eval_jsonata(o, "Output", &states, env.vars)?,
            None => raw.clone(),
        };
        return Ok(Done {
            next,
            output,
            assigned,
        });
    }
    let input = select(&state.input_path, raw, env)?;
    let assigned = match extra {
        Some((Some(a), _)) => assign_value(false, Some(a), None, raw, &input, None, None, env)?,
        _ => assign(state, raw, &input, None, env)?,
    };
    let output = select(&state.output_path, &input, env)?;
    Ok(Done {
        next,
        output,
        assigned,
    })
}

/// Runs the pure part of `state` on its raw input.
pub fn step(state: &State, raw: &Value, env: &Env<'_>) -> Result<Action, StateError> {
    match &state.kind {
        Kind::Pass { result } => {
            if state.jsonata {
                return complete(state, raw, raw.clone(), env).map(Action::Done);
            }
            let effective = effective_input(state, raw, env)?;
            let result = result.clone().unwrap_or(effective);
            complete(state, raw, result, env).map(Action::Done)
        }
        Kind::Succeed => passthrough(state, raw, None, None, env).map(Action::Done),
        Kind::Fail {
            error,
            cause,
            error_path,
            cause_path,
        } => {
            let text = |lit: &Option<Value>,
                        path: &Option<super::template::Template>,
                        field: &str|
             -> Result<Option<String>, StateError> {
                if let Some(t) = path {
                    let v = t.eval(raw, env)?;
                    return Ok(v.get("x").map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }));
                }
                match lit {
                    Some(v) if state.jsonata => {
                        let out =
                            eval_jsonata(v, field, &states_obj(raw, env, None, None), env.vars)?;
                        Ok(Some(match out {
                            Value::String(s) => s,
                            other => other.to_string(),
                        }))
                    }
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Ok(Some(other.to_string())),
                    None => Ok(None),
                }
            };
            let e = text(error, error_path, "Error")?.unwrap_or_default();
            let c = text(cause, cause_path, "Cause")?.unwrap_or_default();
            Ok(Action::Fail(StateError::new(e, c)))
        }
        Kind::Choice { branches, default } => {
            let input = if state.jsonata {
                raw.clone()
            } else {
                select(&state.input_path, raw, env)?
            };
            for b in branches {
                let hit = match &b.rule {
                    super::choice::Rule::Condition(c) => {
                        let v = eval_jsonata(
                            c,
                            "Condition",
                            &states_obj(raw, env, None, None),
                            env.vars,
                        )?;
                        match v {
                            Value::Bool(b) => b,
                            other => {
                                return Err(StateError::query(format!(
                                    "The JSONata expression specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {other}",
                                    type_name(&other)
                                )))
                            }
                        }
                    }
                    rule => rule.eval(&input, env)?,
                };
                if hit {
                    return passthrough(
                        state,
                        raw,
                        Some(b.next),
                        Some((&b.assign, &b.output)),
                        env,
                    )
                    .map(Action::Done);
                }
            }
            match default {
                Some(d) => passthrough(state, raw, Some(*d), None, env).map(Action::Done),
                None => Err(StateError::new(
                    "States.NoChoiceMatched",
                    format!("No Matches! on input {}", compact(raw)),
                )),
            }
        }
        Kind::Wait(w) => {
            let now = super::timestamp::to_system(
                super::timestamp::parse(
                    env.context
                        .pointer("/State/EnteredTime")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
                .unwrap_or_default(),
            );
            let input = if state.jsonata {
                raw.clone()
            } else {
                select(&state.input_path, raw, env)?
            };
            let until = wait_until(state, w, &input, raw, now, env)?;
            let then = passthrough(state, raw, state.next, None, env)?;
            Ok(Action::Wait { until, then })
        }
        Kind::Task { .. } | Kind::Parallel { .. } => {
            effective_input(state, raw, env).map(Action::Work)
        }
        Kind::Map(_) => {
            if state.jsonata {
                Ok(Action::Work(raw.clone()))
            } else {
                select(&state.input_path, raw, env).map(Action::Work)
            }
        }
    }
}

fn wait_until(
    state: &State,
    w: &WaitFor,
    input: &Value,
    raw: &Value,
    now: SystemTime,
    env: &Env<'_>,
) -> Result<SystemTime, StateError> {
    let jsonata = |v: &Value, field: &str| -> Result<Value, StateError> {
        if state.jsonata {
            eval_jsonata(v, field, &states_obj(raw, env, None, None), env.vars)
        } else {
            Ok(v.clone())
        }
    };
    let secs = |v: &Value, path: Option<&str>| -> Result<SystemTime, StateError> {
        let n = v.as_f64();
        match (n, path) {
            (Some(f), Some(p)) if f.fract() != 0.0 => Err(StateError::runtime(format!(
                "The SecondsPath parameter cannot be parsed as a long value: {p} == {v}"
            ))),
            (Some(f), Some(p)) if f < 0.0 => Err(StateError::runtime(format!(
                "The SecondsPath parameter references a negative value: {p} == {v}"
            ))),
            (Some(f), _) if f >= 0.0 => Duration::try_from_secs_f64(f.floor())
                .ok()
                .and_then(|d| now.checked_add(d))
                .ok_or_else(|| StateError::runtime(format!("The Seconds value is too large: {v}"))),
            (_, Some(p)) => Err(StateError::runtime(format!(
                "The SecondsPath parameter cannot be parsed as a long value: {p} == {v}"
            ))),
            _ => Err(StateError::runtime(format!(
                "The Seconds value is not a valid non-negative integer: {v}"
            ))),
        }
    };
    let ts = |v: &Value, what: &str| -> Result<SystemTime, StateError> {
        v.as_str()
            .and_then(timestamp::parse)
            .map(timestamp::to_system)
            .ok_or_else(|| StateError::runtime(format!("The {what} parameter does not reference a valid ISO-8601 extended offset date-time format string: {v}")))
    };
    match w {
        WaitFor::Seconds(v) => secs(&jsonata(v, "Seconds")?, None),
        WaitFor::SecondsPath(p) => {
            let v = env.resolve(p, input).ok_or_else(|| invalid_path(p))?;
            secs(&v, Some(p.text()))
        }
        WaitFor::Timestamp(v) => ts(&jsonata(v, "Timestamp")?, "Timestamp"),
        WaitFor::TimestampPath(p) => {
            let v = env.resolve(p, input).ok_or_else(|| invalid_path(p))?;
            ts(&v, "TimestampPath")
        }
    }
}

/// JSON type names as AWS words them in causes.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compact JSON text.
pub fn compact(v: &Value) -> String {
    v.to_string()
}
