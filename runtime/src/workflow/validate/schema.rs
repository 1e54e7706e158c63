//! Schema and graph checks on the raw definition JSON: fields per state type, query
//! language rules, transitions, reachability, terminal states, registered functions.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::SCHEMA;
use crate::workflow::choice;
use crate::workflow::error::Diagnostic;
use crate::workflow::task::Resource;

fn err(out: &mut Vec<Diagnostic>, loc: &str, msg: impl Into<String>) {
    out.push(Diagnostic::error(
        SCHEMA,
        msg,
        Some(if loc.is_empty() {
            "/".into()
        } else {
            loc.into()
        }),
    ));
}

const STATE_TYPES: &[&str] = &[
    "Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

fn allowed(ty: &str) -> &'static [&'static str] {
    match ty {
        "Pass" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Task" => &[
            "Resource",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Arguments",
            "Output",
            "Assign",
            "Credentials",
            "Next",
            "End",
        ],
        "Choice" => &[
            "Choices",
            "Default",
            "InputPath",
            "OutputPath",
            "Assign",
            "Output",
        ],
        "Wait" => &[
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "InputPath",
            "OutputPath",
            "Assign",
            "Output",
            "Next",
            "End",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Arguments",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "Parameters",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "ResultSelector",
            "Retry",
            "Catch",
            "Output",
            "Assign",
            "Arguments",
            "Next",
            "End",
        ],
        _ => &[],
    }
}

const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Iterator",
    "Result",
];
const JSONATA_ONLY: &[&str] = &["Output", "Arguments", "Items"];

/// Schema and graph checks on the raw JSON.
pub(super) fn schema(
    def: &Value,
    express: bool,
    exists: Option<&dyn Fn(&str) -> bool>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let top_jsonata = def.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
    machine(
        def,
        "",
        top_jsonata,
        top_jsonata,
        express,
        exists,
        &mut out,
        true,
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn machine(
    def: &Value,
    loc: &str,
    jsonata: bool,
    top_jsonata: bool,
    express: bool,
    exists: Option<&dyn Fn(&str) -> bool>,
    out: &mut Vec<Diagnostic>,
    top: bool,
) {
    let Some(o) = def.as_object() else {
        err(out, loc, "A state machine must be a JSON object");
        return;
    };
    let mut missing = Vec::new();
    if !o.contains_key("States") {
        missing.push("States");
    }
    if !o.contains_key("StartAt") {
        missing.push("StartAt");
    }
    if !missing.is_empty() {
        err(
            out,
            loc,
            format!("These fields are required: [{}]", missing.join(", ")),
        );
        return;
    }
    let known: &[&str] = if top {
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ]
    } else {
        &[
            "StartAt",
            "States",
            "Comment",
            "ProcessorConfig",
            "QueryLanguage",
        ]
    };
    for k in o.keys() {
        if !known.contains(&k.as_str()) {
            err(
                out,
                loc,
                format!("The field '{k}' is not supported by Step Functions"),
            );
        }
    }
    let Some(states) = o.get("States").and_then(Value::as_object) else {
        err(
            out,
            &format!("{loc}/States"),
            "The field 'States' must be an object",
        );
        return;
    };
    if states.is_empty() {
        err(
            out,
            &format!("{loc}/States"),
            "The field 'States' must not be empty",
        );
    }
    let mut terminal = false;
    for (name, s) in states {
        let sloc = format!("{loc}/States/{name}");
        if name.is_empty() || name.len() > 80 {
            err(out, &sloc, "State names must be 1 to 80 characters long");
        }
        terminal |= state(s, &sloc, jsonata, top_jsonata, express, exists, out);
    }
    if !states.is_empty() && !terminal {
        out.push(Diagnostic::error(
            "MISSING_TERMINAL_STATE",
            "Workflow has no terminal state",
            Some(if loc.is_empty() {
                "/".into()
            } else {
                loc.into()
            }),
        ));
    }
    reachability(o, states, loc, out);
}

fn reachability(
    o: &Map<String, Value>,
    states: &Map<String, Value>,
    loc: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(start) = o.get("StartAt").and_then(Value::as_str) else {
        return;
    };
    if !states.contains_key(start) {
        out.push(Diagnostic::error(
            "MISSING_TRANSITION_TARGET",
            format!("Missing 'Next' target: {start}"),
            Some(format!("{loc}/StartAt")),
        ));
        return;
    }
    let mut seen = HashSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        let Some(s) = states.get(&n) else { continue };
        let mut targets: Vec<&Value> = vec![];
        targets.extend(s.get("Next"));
        targets.extend(s.get("Default"));
        for list in ["Choices", "Catch"] {
            for c in s.get(list).and_then(Value::as_array).into_iter().flatten() {
                targets.extend(c.get("Next"));
            }
        }
        todo.extend(
            targets
                .into_iter()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    for name in states.keys() {
        if !seen.contains(name) {
            out.push(Diagnostic::error(
                "UNREACHABLE_STATE",
                format!("State '{name}' is not reachable"),
                Some(format!("{loc}/States/{name}")),
            ));
        }
    }
}

/// Checks one state; returns whether it is terminal.
#[allow(clippy::too_many_arguments)]
fn state(
    s: &Value,
    loc: &str,
    parent_jsonata: bool,
    top_jsonata: bool,
    express: bool,
    exists: Option<&dyn Fn(&str) -> bool>,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let Some(o) = s.as_object() else {
        err(out, loc, "A state must be a JSON object");
        return false;
    };
    let ql = o.get("QueryLanguage").and_then(Value::as_str);
    if top_jsonata && ql == Some("JSONPath") {
        err(
            out,
            loc,
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        );
    }
    let jsonata = match ql {
        Some("JSONata") => true,
        Some("JSONPath") => false,
        Some(other) => {
            err(
                out,
                &format!("{loc}/QueryLanguage"),
                format!("'{other}' is not a valid QueryLanguage"),
            );
            parent_jsonata
        }
        None => parent_jsonata,
    };
    let Some(ty) = o.get("Type").and_then(Value::as_str) else {
        err(out, loc, "These fields are required: [Type]");
        return false;
    };
    if !STATE_TYPES.contains(&ty) {
        err(
            out,
            &format!("{loc}/Type"),
            format!(
                "'{ty}' is not a valid state type; expected one of {}",
                STATE_TYPES.join(", ")
            ),
        );
        return false;
    }
    let permitted = allowed(ty);
    for k in o.keys() {
        if ["Type", "Comment", "QueryLanguage"].contains(&k.as_str()) {
            continue;
        }
        if !permitted.contains(&k.as_str()) {
            err(
                out,
                &format!("{loc}/{k}"),
                format!("The field '{k}' is not supported by Step Functions for a {ty} state"),
            );
        } else if jsonata && JSONPATH_ONLY.contains(&k.as_str()) {
            err(
                out,
                &format!("{loc}/{k}"),
                format!("The field '{k}' is not supported for JSONata states"),
            );
        } else if !jsonata && JSONATA_ONLY.contains(&k.as_str()) && !(ty == "Map" && k == "Items") {
            err(
                out,
                &format!("{loc}/{k}"),
                format!("The field '{k}' is only supported for JSONata states"),
            );
        }
    }
    let has_next = o.contains_key("Next");
    let has_end = o.get("End") == Some(&Value::Bool(true));
    let flows = !matches!(ty, "Choice" | "Succeed" | "Fail");
    if flows && has_next == has_end {
        err(
            out,
            loc,
            format!("A {ty} state must have exactly one of 'Next' or 'End: true'"),
        );
    }
    match ty {
        "Task" => task(o, loc, express, exists, out),
        "Choice" => match o.get("Choices").and_then(Value::as_array) {
            Some(cs) if !cs.is_empty() => {
                for (i, c) in cs.iter().enumerate() {
                    rule(c, &format!("{loc}/Choices/{i}"), jsonata, true, out);
                }
            }
            _ => err(
                out,
                loc,
                "A Choice state must have a non-empty 'Choices' array",
            ),
        },
        "Wait" => {
            let n = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                .iter()
                .filter(|k| o.contains_key(**k))
                .count();
            if n != 1 {
                err(out, loc, "A Wait state must have exactly one of Seconds, SecondsPath, Timestamp, TimestampPath");
            }
        }
        "Parallel" => match o.get("Branches").and_then(Value::as_array) {
            Some(bs) if !bs.is_empty() => {
                for (i, b) in bs.iter().enumerate() {
                    machine(
                        b,
                        &format!("{loc}/Branches/{i}"),
                        jsonata,
                        top_jsonata,
                        express,
                        exists,
                        out,
                        false,
                    );
                }
            }
            _ => err(
                out,
                loc,
                "A Parallel state must have a non-empty 'Branches' array",
            ),
        },
        "Map" => match o.get("ItemProcessor").or_else(|| o.get("Iterator")) {
            Some(p) => {
                let key = if o.contains_key("ItemProcessor") {
                    "ItemProcessor"
                } else {
                    "Iterator"
                };
                machine(
                    p,
                    &format!("{loc}/{key}"),
                    jsonata,
                    top_jsonata,
                    express,
                    exists,
                    out,
                    false,
                );
            }
            None => err(out, loc, "These fields are required: [ItemProcessor]"),
        },
        _ => {}
    }
    for (list, needs_next) in [("Retry", false), ("Catch", true)] {
        if let Some(v) = o.get(list) {
            let Some(items) = v.as_array() else {
                err(
                    out,
                    &format!("{loc}/{list}"),
                    format!("'{list}' must be an array"),
                );
                continue;
            };
            for (i, r) in items.iter().enumerate() {
                let rloc = format!("{loc}/{list}/{i}");
                if r.get("ErrorEquals")
                    .and_then(Value::as_array)
                    .is_none_or(|a| a.is_empty())
                {
                    err(out, &rloc, "These fields are required: [ErrorEquals]");
                }
                if needs_next && r.get("Next").and_then(Value::as_str).is_none() {
                    err(out, &rloc, "These fields are required: [Next]");
                }
            }
        }
    }
    !flows || has_end || matches!(ty, "Succeed" | "Fail")
}

fn task(
    o: &Map<String, Value>,
    loc: &str,
    express: bool,
    exists: Option<&dyn Fn(&str) -> bool>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(res) = o.get("Resource").and_then(Value::as_str) else {
        err(out, loc, "These fields are required: [Resource]");
        return;
    };
    let rloc = format!("{loc}/Resource");
    let secs = |k: &str| o.get(k).and_then(Value::as_f64);
    for k in ["TimeoutSeconds", "HeartbeatSeconds"] {
        if o.get(k).is_some_and(|v| !v.is_string())
            && secs(k).is_none_or(|s| s < 1.0 || s.fract() != 0.0)
        {
            err(
                out,
                &format!("{loc}/{k}"),
                format!("'{k}' must be a positive integer"),
            );
        }
    }
    if let (Some(h), Some(t)) = (secs("HeartbeatSeconds"), secs("TimeoutSeconds")) {
        if h >= t {
            err(
                out,
                &format!("{loc}/HeartbeatSeconds"),
                "'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            );
        }
    }
    if express && res.ends_with(".waitForTaskToken") {
        err(
            out,
            &rloc,
            "Express state machine does not support '.waitForTaskToken' service integration ",
        );
    }
    match Resource::parse(res) {
        Err(e) => err(out, &rloc, e),
        Ok(r) => {
            if let (Some(f), Some(exists)) = (r.function(), exists) {
                if !exists(f) {
                    out.push(Diagnostic::error(
                        "UNKNOWN_FUNCTION",
                        format!("The function '{f}' is not registered"),
                        Some(rloc),
                    ));
                }
            }
        }
    }
}

fn rule(c: &Value, loc: &str, jsonata: bool, top: bool, out: &mut Vec<Diagnostic>) {
    let Some(o) = c.as_object() else {
        err(out, loc, "A choice rule must be an object");
        return;
    };
    if top && o.get("Next").and_then(Value::as_str).is_none() {
        err(out, loc, "These fields are required: [Next]");
    }
    if jsonata {
        if !o.contains_key("Condition") {
            err(out, loc, "These fields are required: [Condition]");
        }
        return;
    }
    if let Err(e) = choice::Rule::parse(c) {
        err(out, loc, e);
    }
    for k in o.keys() {
        let ok = matches!(
            k.as_str(),
            "Variable" | "Next" | "And" | "Or" | "Not" | "Assign" | "Comment"
        ) || choice::is_operator(k);
        if !ok {
            err(
                out,
                &format!("{loc}/{k}"),
                format!("The field '{k}' is not supported in a choice rule"),
            );
        }
    }
    for list in ["And", "Or"] {
        for (i, r) in o
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            rule(r, &format!("{loc}/{list}/{i}"), jsonata, false, out);
        }
    }
    if let Some(n) = o.get("Not") {
        rule(n, &format!("{loc}/Not"), jsonata, false, out);
    }
}
