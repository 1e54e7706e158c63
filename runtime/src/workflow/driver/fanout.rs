//! Map and Parallel: fan out sub-plans, gather results in order.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};

use super::Runner;
use crate::workflow::error::{names, StateError};
use crate::workflow::jsonata;
use crate::workflow::plan::{Dyn, MapSpec, PathSetting, Plan, State};
use crate::workflow::step::{states_obj, type_name};
use crate::workflow::template::{eval_jsonata, invalid_path, Env};

impl Runner {
    pub(super) async fn parallel(
        &self,
        state: &State,
        branches: &[Arc<Plan>],
        input: Value,
        vars: &Map<String, Value>,
    ) -> Result<Value, StateError> {
        self.history
            .record(self.clock.now(), "ParallelStateStarted", None);
        let runs = branches
            .iter()
            .map(|b| self.run_plan(b, input.clone(), vars.clone()));
        let results = futures_util::future::join_all(runs).await;
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.history
                        .record(self.clock.now(), "ParallelStateFailed", None);
                    return Err(e);
                }
            }
        }
        let _ = state;
        self.history
            .record(self.clock.now(), "ParallelStateSucceeded", None);
        Ok(Value::Array(out))
    }

    pub(super) async fn map(
        &self,
        state: &State,
        spec: &MapSpec,
        input: Value,
        raw: &Value,
        env: &Env<'_>,
    ) -> Result<Value, StateError> {
        let items = self.map_items(state, spec, &input, raw, env)?;
        let max = self.map_number(
            state,
            &spec.max_concurrency,
            "MaxConcurrency",
            &input,
            env,
            true,
        )?;
        let tol_count = self.map_number(
            state,
            &spec.tolerated_count,
            "ToleratedFailureCount",
            &input,
            env,
            true,
        )?;
        let tol_pct = self.map_number(
            state,
            &spec.tolerated_pct,
            "ToleratedFailurePercentage",
            &input,
            env,
            false,
        )?;
        if tol_count.is_some_and(|c| c < 0.0) {
            return Err(StateError::runtime(
                "ToleratedFailureCount cannot be negative.",
            ));
        }
        if tol_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(StateError::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ));
        }
        let mut selected = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            selected.push(self.select_item(state, spec, i, item, &input, raw, env)?);
        }
        let selected = match &spec.batcher {
            Some(b) => batch(selected, b, &input, env)?,
            None => selected,
        };
        self.history.record(
            self.clock.now(),
            "MapStateStarted",
            Some((
                "mapStateStartedEventDetails",
                json!({"length": selected.len()}),
            )),
        );
        let total = selected.len();
        let limit = match max {
            Some(m) if m >= 1.0 => m as usize,
            _ => total.max(1),
        };
        let name = state.name.clone();
        let runs = selected.into_iter().enumerate().map(|(i, item)| {
            let name = name.clone();
            let vars = env.vars.clone();
            async move {
                let details = json!({"name": name, "index": i});
                self.history.record(
                    self.clock.now(),
                    "MapIterationStarted",
                    Some(("mapIterationStartedEventDetails", details.clone())),
                );
                let r = self.run_plan(&spec.processor, item, vars).await;
                let ty = if r.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let key = if r.is_ok() {
                    "mapIterationSucceededEventDetails"
                } else {
                    "mapIterationFailedEventDetails"
                };
                self.history
                    .record(self.clock.now(), ty, Some((key, details)));
                r
            }
        });
        let results: Vec<Result<Value, StateError>> =
            stream::iter(runs).buffered(limit).collect().await;
        let failures = results.iter().filter(|r| r.is_err()).count();
        let tolerant = tol_count.is_some() || tol_pct.is_some();
        let exceeded = if tolerant {
            let by_count = tol_count.is_some_and(|c| failures as f64 > c);
            let by_pct =
                tol_pct.is_some_and(|p| total > 0 && failures as f64 * 100.0 / total as f64 > p);
            (tol_count.is_none() || by_count) && (tol_pct.is_none() || by_pct)
        } else {
            failures > 0
        };
        if exceeded {
            self.history
                .record(self.clock.now(), "MapStateFailed", None);
            if tolerant {
                return Err(StateError::new(
                    names::EXCEED_TOLERATED_FAILURE,
                    "The specified tolerated failure threshold was exceeded",
                ));
            }
            if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
                return Err(e);
            }
            return Err(StateError::new(names::BRANCH_FAILED, ""));
        }
        self.history
            .record(self.clock.now(), "MapStateSucceeded", None);
        Ok(Value::Array(
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| json!({"Error": e.error, "Cause": e.cause})))
                .collect(),
        ))
    }

    fn map_items(
        &self,
        state: &State,
        spec: &MapSpec,
        input: &Value,
        raw: &Value,
        env: &Env<'_>,
    ) -> Result<Vec<Value>, StateError> {
        if state.jsonata {
            let items = match &spec.items {
                Some(Value::String(s)) if jsonata::expression(s).is_some() => {
                    let v = eval_jsonata(
                        &spec.items.clone().unwrap_or_default(),
                        "Items",
                        &states_obj(raw, env, None, None),
                        env.vars,
                    )?;
                    if !v.is_array() {
                        return Err(StateError::query(format!(
                            "The JSONata expression '{}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                            jsonata::expression(s).unwrap_or_default(), type_name(&v), v
                        )));
                    }
                    v
                }
                Some(v) => eval_jsonata(v, "Items", &states_obj(raw, env, None, None), env.vars)?,
                None => raw.clone(),
            };
            return match items {
                Value::Array(a) => Ok(a),
                other => Err(StateError::query(format!(
                    "Map state input must be an array but was: {other}"
                ))),
            };
        }
        let items = match (&spec.items, &spec.items_path) {
            (Some(v), _) => v.clone(),
            (None, PathSetting::Path(p)) => env.resolve(p, input).ok_or_else(|| invalid_path(p))?,
            (None, _) => input.clone(),
        };
        match items {
            Value::Array(a) => Ok(a),
            other => Err(StateError::runtime(format!(
                "Map state input must be an array but was: {other}"
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn select_item(
        &self,
        state: &State,
        spec: &MapSpec,
        i: usize,
        item: &Value,
        input: &Value,
        raw: &Value,
        env: &Env<'_>,
    ) -> Result<Value, StateError> {
        let ctx = self.context(
            &state.name,
            super::timestamp::to_system(
                super::timestamp::parse(
                    env.context
                        .pointer("/State/EnteredTime")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
                .unwrap_or_default(),
            ),
            0,
            Some((i, item)),
        );
        let item_env = Env {
            context: &ctx,
            vars: env.vars,
        };
        if state.jsonata {
            return match &spec.item_selector_raw {
                Some(sel) => eval_jsonata(
                    sel,
                    "ItemSelector",
                    &states_obj(raw, &item_env, None, None),
                    env.vars,
                ),
                None => Ok(item.clone()),
            };
        }
        match &spec.item_selector {
            Some(t) => t.eval(input, &item_env),
            None => Ok(item.clone()),
        }
    }

    fn map_number(
        &self,
        state: &State,
        d: &Option<Dyn>,
        field: &str,
        input: &Value,
        env: &Env<'_>,
        integer: bool,
    ) -> Result<Option<f64>, StateError> {
        let kind = if integer { "integer" } else { "float" };
        match d {
            None => Ok(None),
            Some(Dyn::Fixed(v)) => {
                let v = if state.jsonata {
                    eval_jsonata(v, field, &states_obj(input, env, None, None), env.vars)?
                } else {
                    v.clone()
                };
                v.as_f64().map(Some).ok_or_else(|| {
                    StateError::runtime(format!(
                        "The {field} field value {v} is not a valid {kind}"
                    ))
                })
            }
            Some(Dyn::Path(p)) => {
                let v = env.resolve(p, input).ok_or_else(|| invalid_path(p))?;
                let ok = v.as_f64().filter(|f| !integer || f.fract() == 0.0);
                ok.map(Some).ok_or_else(|| {
                    let shown = match &v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    StateError::runtime(format!(
                        "The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {}",
                        p.text()
                    ))
                })
            }
        }
    }
}

fn batch(
    items: Vec<Value>,
    b: &Value,
    input: &Value,
    env: &Env<'_>,
) -> Result<Vec<Value>, StateError> {
    let max_items = b
        .get("MaxItemsPerBatch")
        .and_then(Value::as_u64)
        .or_else(|| {
            let p = b.get("MaxItemsPerBatchPath")?.as_str()?;
            env.resolve(&crate::workflow::paths::Path::parse(p).ok()?, input)?
                .as_u64()
        });
    let max_bytes = b.get("MaxInputBytesPerBatch").and_then(Value::as_u64);
    let batch_input = match b.get("BatchInput") {
        Some(t) => Some(
            crate::workflow::template::Template::compile(t)
                .map_err(StateError::runtime)?
                .eval(input, env)?,
        ),
        None => None,
    };
    let mut out = Vec::new();
    let mut cur: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        let size = item.to_string().len();
        let full_items = max_items.is_some_and(|m| cur.len() as u64 >= m);
        let full_bytes = max_bytes.is_some_and(|m| !cur.is_empty() && (bytes + size) as u64 > m);
        if full_items || full_bytes {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(item);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out
        .into_iter()
        .map(|items| {
            let mut o = Map::new();
            if let Some(bi) = &batch_input {
                o.insert("BatchInput".into(), bi.clone());
            }
            o.insert("Items".into(), Value::Array(items));
            Value::Object(o)
        })
        .collect())
}
