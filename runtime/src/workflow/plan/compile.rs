//! Compiling ASL JSON into a [`Plan`]: resolving transitions and pre-parsing paths,
//! templates and rules. Problems become diagnostics.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::workflow::choice::Rule;
use crate::workflow::error::Diagnostic;
use crate::workflow::paths::Path;
use crate::workflow::task::Resource;
use crate::workflow::template::Template;

fn diag(diags: &mut Vec<Diagnostic>, loc: &str, msg: impl Into<String>) {
    let loc = if loc.is_empty() { "/" } else { loc };
    diags.push(Diagnostic::error(
        "SCHEMA_VALIDATION_FAILED",
        msg,
        Some(loc.to_string()),
    ));
}

fn is_jsonata(v: &Value, inherited: bool) -> bool {
    match v.get("QueryLanguage").and_then(Value::as_str) {
        Some("JSONata") => true,
        Some(_) => false,
        None => inherited,
    }
}

/// Compiles a machine-shaped object (`StartAt` + `States`) found at `loc`.
pub(crate) fn compile(
    def: &Value,
    loc: &str,
    inherited_jsonata: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<Plan> {
    let obj = def.as_object()?;
    let jsonata = is_jsonata(def, inherited_jsonata);
    let states_obj = obj.get("States").and_then(Value::as_object)?;
    let index: HashMap<String, usize> = states_obj
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    let start_name = obj.get("StartAt").and_then(Value::as_str)?;
    let start = match index.get(start_name) {
        Some(i) => *i,
        None => {
            diag(
                diags,
                &format!("{loc}/StartAt"),
                format!("Missing 'Next' target: {start_name}"),
            );
            return None;
        }
    };
    let mut states = Vec::with_capacity(states_obj.len());
    for (name, sv) in states_obj {
        let sloc = format!("{loc}/States/{name}");
        if let Some(s) = compile_state(name, sv, &sloc, jsonata, &index, diags) {
            states.push(s);
        }
    }
    if states.len() != index.len() {
        return None;
    }
    let timeout_seconds = obj.get("TimeoutSeconds").and_then(Value::as_u64);
    Some(Plan {
        states,
        start,
        timeout_seconds,
        index,
    })
}

fn path_setting(v: Option<&Value>, loc: &str, diags: &mut Vec<Diagnostic>) -> PathSetting {
    match v {
        None => PathSetting::Default,
        Some(Value::Null) => PathSetting::Null,
        Some(Value::String(s)) => match Path::parse(s) {
            Ok(p) => PathSetting::Path(p),
            Err(e) => {
                diag(
                    diags,
                    loc,
                    format!("The value for the field must be a valid JSONPath: {e}"),
                );
                PathSetting::Default
            }
        },
        Some(_) => {
            diag(
                diags,
                loc,
                "The value for the field must be a string or null",
            );
            PathSetting::Default
        }
    }
}

fn template(v: Option<&Value>, loc: &str, diags: &mut Vec<Diagnostic>) -> Option<Template> {
    let v = v?;
    match Template::compile(v) {
        Ok(t) => Some(t),
        Err(e) => {
            diag(
                diags,
                loc,
                format!("The value for the field is not valid: {e}"),
            );
            None
        }
    }
}

fn dyn_num(
    o: &serde_json::Map<String, Value>,
    key: &str,
    loc: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Dyn> {
    if let Some(v) = o.get(key) {
        return Some(Dyn::Fixed(v.clone()));
    }
    let pk = format!("{key}Path");
    let s = o.get(&pk)?;
    match s.as_str().map(Path::parse) {
        Some(Ok(p)) => Some(Dyn::Path(p)),
        _ => {
            diag(
                diags,
                &format!("{loc}/{pk}"),
                "The value for the field must be a valid JSONPath",
            );
            None
        }
    }
}

fn target(
    name: &Value,
    loc: &str,
    index: &HashMap<String, usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let n = name.as_str().unwrap_or_default();
    let found = index.get(n).copied();
    if found.is_none() {
        diags.push(Diagnostic::error(
            "MISSING_TRANSITION_TARGET",
            format!("Missing 'Next' target: {n}"),
            Some(loc.to_string()),
        ));
    }
    found
}

fn errors_list(v: &Value) -> Vec<String> {
    v.get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn compile_state(
    name: &str,
    sv: &Value,
    loc: &str,
    parent_jsonata: bool,
    index: &HashMap<String, usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<State> {
    let o = sv.as_object()?;
    let jsonata = is_jsonata(sv, parent_jsonata);
    let ty = o.get("Type").and_then(Value::as_str).unwrap_or_default();
    let next = match o.get("Next") {
        Some(n) => target(n, &format!("{loc}/Next"), index, diags),
        None => None,
    };
    let kind = match ty {
        "Pass" => Kind::Pass {
            result: o.get("Result").cloned(),
        },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: o.get("Error").cloned(),
            cause: o.get("Cause").cloned(),
            error_path: o.get("ErrorPath").and_then(Value::as_str).and_then(|s| {
                template(
                    Some(&Value::Object(
                        [("x.$".to_string(), Value::String(s.into()))]
                            .into_iter()
                            .collect(),
                    )),
                    &format!("{loc}/ErrorPath"),
                    diags,
                )
            }),
            cause_path: o.get("CausePath").and_then(Value::as_str).and_then(|s| {
                template(
                    Some(&Value::Object(
                        [("x.$".to_string(), Value::String(s.into()))]
                            .into_iter()
                            .collect(),
                    )),
                    &format!("{loc}/CausePath"),
                    diags,
                )
            }),
        },
        "Wait" => {
            let w = if let Some(v) = o.get("Seconds") {
                WaitFor::Seconds(v.clone())
            } else if let Some(v) = o.get("Timestamp") {
                WaitFor::Timestamp(v.clone())
            } else if let Some(Ok(p)) = o
                .get("SecondsPath")
                .and_then(Value::as_str)
                .map(Path::parse)
            {
                WaitFor::SecondsPath(p)
            } else if let Some(Ok(p)) = o
                .get("TimestampPath")
                .and_then(Value::as_str)
                .map(Path::parse)
            {
                WaitFor::TimestampPath(p)
            } else {
                diag(
                    diags,
                    loc,
                    "A Wait state needs one of Seconds, SecondsPath, Timestamp, TimestampPath",
                );
                return None;
            };
            Kind::Wait(w)
        }
        "Choice" => {
            let mut branches = Vec::new();
            for (i, c) in o
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let cloc = format!("{loc}/Choices/{i}");
                let rule = match Rule::parse(c) {
                    Ok(r) => r,
                    Err(e) => {
                        diag(diags, &cloc, e);
                        continue;
                    }
                };
                let Some(next) = c
                    .get("Next")
                    .and_then(|n| target(n, &format!("{cloc}/Next"), index, diags))
                else {
                    continue;
                };
                branches.push(Branch {
                    rule,
                    next,
                    assign: c.get("Assign").cloned(),
                    output: c.get("Output").cloned(),
                });
            }
            let default = o
                .get("Default")
                .and_then(|d| target(d, &format!("{loc}/Default"), index, diags));
            Kind::Choice { branches, default }
        }
        "Task" => {
            let res = o
                .get("Resource")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let resource = match Resource::parse(res) {
                Ok(r) => r,
                Err(e) => {
                    diag(diags, &format!("{loc}/Resource"), e);
                    return None;
                }
            };
            Kind::Task {
                resource,
                timeout: dyn_num(o, "TimeoutSeconds", loc, diags),
                heartbeat: dyn_num(o, "HeartbeatSeconds", loc, diags),
            }
        }
        "Parallel" => {
            let mut branches = Vec::new();
            for (i, b) in o
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                branches.push(Arc::new(compile(
                    b,
                    &format!("{loc}/Branches/{i}"),
                    jsonata,
                    diags,
                )?));
            }
            Kind::Parallel { branches }
        }
        "Map" => {
            let (proc_key, proc) = match (o.get("ItemProcessor"), o.get("Iterator")) {
                (Some(p), _) => ("ItemProcessor", p),
                (None, Some(p)) => ("Iterator", p),
                _ => {
                    diag(diags, loc, "A Map state needs an ItemProcessor");
                    return None;
                }
            };
            let processor = Arc::new(compile(proc, &format!("{loc}/{proc_key}"), jsonata, diags)?);
            let distributed = proc
                .pointer("/ProcessorConfig/Mode")
                .and_then(Value::as_str)
                == Some("DISTRIBUTED");
            let sel = o.get("ItemSelector").or_else(|| o.get("Parameters"));
            Kind::Map(Box::new(MapSpec {
                processor,
                items_path: path_setting(o.get("ItemsPath"), &format!("{loc}/ItemsPath"), diags),
                items: o.get("Items").cloned(),
                item_selector: if jsonata {
                    None
                } else {
                    template(sel, &format!("{loc}/ItemSelector"), diags)
                },
                item_selector_raw: sel.cloned(),
                max_concurrency: dyn_num(o, "MaxConcurrency", loc, diags),
                tolerated_count: dyn_num(o, "ToleratedFailureCount", loc, diags),
                tolerated_pct: dyn_num(o, "ToleratedFailurePercentage", loc, diags),
                batcher: o.get("ItemBatcher").cloned(),
                distributed,
            }))
        }
        _ => return None,
    };
    let mut retry = Vec::new();
    for r in o
        .get("Retry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        retry.push(Retrier {
            error_equals: errors_list(r),
            interval_seconds: r
                .get("IntervalSeconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0),
            max_attempts: r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3),
            backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
            max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_f64),
            full_jitter: r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL"),
        });
    }
    let mut catch = Vec::new();
    for (i, c) in o
        .get("Catch")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let cloc = format!("{loc}/Catch/{i}");
        let Some(next) = c
            .get("Next")
            .and_then(|n| target(n, &format!("{cloc}/Next"), index, diags))
        else {
            continue;
        };
        catch.push(Catcher {
            error_equals: errors_list(c),
            result_path: path_setting(c.get("ResultPath"), &format!("{cloc}/ResultPath"), diags),
            next,
            output: c.get("Output").cloned(),
            assign: c.get("Assign").cloned(),
        });
    }
    let params_key = if ty == "Map" { "__none" } else { "Parameters" };
    Some(State {
        name: name.to_string(),
        jsonata,
        kind,
        next,
        input_path: path_setting(o.get("InputPath"), &format!("{loc}/InputPath"), diags),
        output_path: path_setting(o.get("OutputPath"), &format!("{loc}/OutputPath"), diags),
        result_path: path_setting(o.get("ResultPath"), &format!("{loc}/ResultPath"), diags),
        parameters: if jsonata {
            None
        } else {
            template(o.get(params_key), &format!("{loc}/Parameters"), diags)
        },
        result_selector: if jsonata {
            None
        } else {
            template(
                o.get("ResultSelector"),
                &format!("{loc}/ResultSelector"),
                diags,
            )
        },
        arguments: o.get("Arguments").cloned(),
        output: o.get("Output").cloned(),
        assign: o.get("Assign").cloned(),
        assign_template: if jsonata {
            None
        } else {
            template(o.get("Assign"), &format!("{loc}/Assign"), diags)
        },
        needs_context: jsonata || matches!(ty, "Wait" | "Map") || sv.to_string().contains("$$"),
        retry,
        catch,
    })
}
