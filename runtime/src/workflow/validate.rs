//! Definition validation: every problem at once, as AWS's ValidateStateMachineDefinition
//! reports them.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use super::definition::Definition;
use super::error::{DefinitionError, Diagnostic};
use super::plan::Plan;

mod schema;

use schema::schema;

/// The ValidateStateMachineDefinition response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationResult {
    /// `OK` or `FAIL`.
    pub result: String,
    /// What is wrong (empty when OK).
    pub diagnostics: Vec<Diagnostic>,
    /// Whether diagnostics were cut short (never).
    pub truncated: bool,
}

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";

/// Validates an ASL JSON definition for a STANDARD machine.
pub fn validate_definition(json: &str) -> ValidationResult {
    validate_definition_for(json, false)
}

/// Validates an ASL JSON definition; `express` adds the EXPRESS-only rules.
pub fn validate_definition_for(json: &str, express: bool) -> ValidationResult {
    let diagnostics = match syntax(json) {
        Err(d) => vec![d],
        Ok(v) => {
            let mut d = schema(&v, express, None);
            if d.is_empty() {
                if let Err(mut p) = Plan::build(&v) {
                    d.append(&mut p);
                }
            }
            d
        }
    };
    ValidationResult {
        result: if diagnostics.is_empty() { "OK" } else { "FAIL" }.into(),
        diagnostics,
        truncated: false,
    }
}

fn syntax(json: &str) -> Result<Value, Diagnostic> {
    let not_object = || Diagnostic::error(SCHEMA, "Definition must be a valid JSON object", None);
    if json.trim().is_empty() {
        return Err(not_object());
    }
    match serde_json::from_str::<Value>(json) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(not_object()),
        Err(e) => {
            // Mirror Jackson's wording, which is what AWS returns.
            let tok: String = json
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let (msg, loc) = if !tok.is_empty() {
                let col = json.len() - json.trim_start().len() + tok.chars().count() + 1;
                let loc = format!("[Source: (String)\"{json}\"; line: 1, column: {col}]");
                (format!("Unrecognized token '{tok}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at {loc}"), loc)
            } else {
                let loc = format!(
                    "[Source: (String)\"{json}\"; line: {}, column: {}]",
                    e.line(),
                    e.column()
                );
                (format!("{e}\n at {loc}"), loc)
            };
            Err(Diagnostic::error(
                "INVALID_JSON_DESCRIPTION",
                msg,
                Some(loc),
            ))
        }
    }
}

/// Validates a parsed definition and compiles it. `exists` says whether a Task's function
/// is registered (skipped when `None`).
pub fn check(
    def: &Definition,
    exists: Option<&dyn Fn(&str) -> bool>,
) -> Result<Plan, DefinitionError> {
    let mut diags = schema(&def.json, false, exists);
    let plan = Plan::build(&def.json);
    let plan = match plan {
        Ok(p) if diags.is_empty() => Some(p),
        Ok(_) => None,
        Err(mut d) => {
            diags.append(&mut d);
            None
        }
    };
    match plan {
        Some(p) => Ok(p),
        None => {
            let mut seen = HashSet::new();
            diags.retain(|d| seen.insert((d.code.clone(), d.message.clone(), d.location.clone())));
            for d in &mut diags {
                if let Some(l) = &d.location {
                    d.location = Some(def.locate(l));
                }
            }
            Err(DefinitionError::Invalid(diags))
        }
    }
}
