//! The TOML authoring form ⇄ ASL JSON. The TOML form is ASL with snake_case field names
//! (`start_at`, `[states.Validate]`, `type = "Task"`, `error_equals`); state names and data
//! (Parameters, Result, Arguments, Output, Assign, ...) are kept verbatim.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The input is not valid TOML.
    #[error("{0}")]
    Toml(String),
    /// The input is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The value cannot be represented in the target format.
    #[error("{0}")]
    Unrepresentable(String),
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Field names are ASL keywords.
    Struct,
    /// Keys are state names, values are states.
    States,
    /// A list of structural objects (Choices, Retry, Catch, And/Or, Branches).
    StructList,
    /// Verbatim data.
    Data,
}

/// What a field's value is, given its (PascalCase) name.
fn child_ctx(key: &str) -> Ctx {
    match key {
        "States" => Ctx::States,
        "Choices" | "Retry" | "Catch" | "And" | "Or" | "Branches" => Ctx::StructList,
        "Not" | "ItemProcessor" | "Iterator" | "ProcessorConfig" | "ItemReader"
        | "ReaderConfig" | "ItemBatcher" | "ResultWriter" | "WriterConfig" => Ctx::Struct,
        _ => Ctx::Data,
    }
}

const SPECIAL: &[(&str, &str)] = &[
    ("CSVHeaders", "csv_headers"),
    ("CSVHeaderLocation", "csv_header_location"),
    ("CSVDelimiter", "csv_delimiter"),
];

/// `ResultPath` → `result_path`.
pub fn to_snake(key: &str) -> String {
    if let Some((_, s)) = SPECIAL.iter().find(|(p, _)| *p == key) {
        return s.to_string();
    }
    let mut out = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// `result_path` → `ResultPath`.
pub fn to_pascal(key: &str) -> String {
    if let Some((p, _)) = SPECIAL.iter().find(|(_, s)| *s == key) {
        return p.to_string();
    }
    key.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn rename(
    v: &Value,
    ctx: Ctx,
    pascal: bool,
    ptr: &str,
    src: &str,
    map: &mut HashMap<String, String>,
) -> Value {
    map.insert(ptr.to_string(), src.to_string());
    match (v, ctx) {
        (Value::Object(o), Ctx::Struct) => {
            let mut out = Map::new();
            for (k, x) in o {
                let nk = if pascal { to_pascal(k) } else { to_snake(k) };
                let pk = if pascal { nk.clone() } else { k.clone() };
                let (p, s) = if pascal {
                    (format!("{ptr}/{nk}"), format!("{src}/{k}"))
                } else {
                    (format!("{ptr}/{k}"), format!("{src}/{nk}"))
                };
                out.insert(nk, rename(x, child_ctx(&pk), pascal, &p, &s, map));
            }
            Value::Object(out)
        }
        (Value::Object(o), Ctx::States) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    (
                        k.clone(),
                        rename(
                            x,
                            Ctx::Struct,
                            pascal,
                            &format!("{ptr}/{k}"),
                            &format!("{src}/{k}"),
                            map,
                        ),
                    )
                })
                .collect(),
        ),
        (Value::Array(a), Ctx::StructList) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| {
                    rename(
                        x,
                        Ctx::Struct,
                        pascal,
                        &format!("{ptr}/{i}"),
                        &format!("{src}/{i}"),
                        map,
                    )
                })
                .collect(),
        ),
        (other, _) => other.clone(),
    }
}

/// Converts the TOML form to ASL JSON (pretty-printed).
pub fn toml_to_asl_json(toml_text: &str) -> Result<String, ConvertError> {
    let (v, _) = toml_to_asl_value(toml_text)?;
    serde_json::to_string_pretty(&v).map_err(|e| ConvertError::Json(e.to_string()))
}

/// Converts the TOML form to an ASL JSON value, with a map from JSON pointers to TOML
/// pointers (used to place diagnostics).
pub fn toml_to_asl_value(
    toml_text: &str,
) -> Result<(Value, HashMap<String, String>), ConvertError> {
    let t: toml::Table =
        toml::from_str(toml_text).map_err(|e| ConvertError::Toml(e.to_string()))?;
    let j = serde_json::to_value(t).map_err(|e| ConvertError::Json(e.to_string()))?;
    let mut map = HashMap::new();
    let v = rename(&j, Ctx::Struct, true, "", "", &mut map);
    Ok((v, map))
}

/// Converts ASL JSON to the TOML form.
pub fn asl_json_to_toml(json_text: &str) -> Result<String, ConvertError> {
    let j: Value =
        serde_json::from_str(json_text).map_err(|e| ConvertError::Json(e.to_string()))?;
    if !j.is_object() {
        return Err(ConvertError::Unrepresentable(
            "a definition must be a JSON object".into(),
        ));
    }
    if let Some(p) = find_null(&j, "") {
        return Err(ConvertError::Unrepresentable(format!(
            "TOML has no null: the value at {p} cannot be written as TOML"
        )));
    }
    let mut map = HashMap::new();
    let v = rename(&j, Ctx::Struct, false, "", "", &mut map);
    toml::to_string(&v).map_err(|e| ConvertError::Unrepresentable(e.to_string()))
}

fn find_null(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Null => Some(if at.is_empty() {
            "/".into()
        } else {
            at.to_string()
        }),
        Value::Object(o) => o
            .iter()
            .find_map(|(k, x)| find_null(x, &format!("{at}/{k}"))),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_null(x, &format!("{at}/{i}"))),
        _ => None,
    }
}

/// Byte offsets of every key in a TOML document, by TOML pointer (`/states/Validate/next`).
pub fn toml_spans(toml_text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    if let Ok(t) = toml::de::DeTable::parse(toml_text) {
        walk_spans(t.get_ref(), "", &mut out);
    }
    out
}

fn walk_spans(t: &toml::de::DeTable<'_>, at: &str, out: &mut HashMap<String, usize>) {
    for (k, v) in t.iter() {
        let p = format!("{at}/{}", k.get_ref());
        out.insert(p.clone(), k.span().start);
        walk_value(v.get_ref(), &p, out);
    }
}

fn walk_value(v: &toml::de::DeValue<'_>, at: &str, out: &mut HashMap<String, usize>) {
    match v {
        toml::de::DeValue::Table(t) => walk_spans(t, at, out),
        toml::de::DeValue::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.insert(p.clone(), x.span().start);
                walk_value(x.get_ref(), &p, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
comment = "demo"
start_at = "Validate"

[states.Validate]
type = "Task"
resource = "validate"
result_path = "$.validated"
next = "Route"
retry = [{ error_equals = ["States.ALL"], max_attempts = 2, backoff_rate = 1.5 }]

[states.Validate.parameters]
"user.$" = "$.user"
CamelKept = 1

[states.Route]
type = "Choice"
default = "Done"
choices = [{ variable = "$.validated.ok", boolean_equals = true, next = "Done" }]

[states.Done]
type = "Succeed"
"#;

    #[test]
    fn toml_maps_to_asl_and_back_losslessly() {
        let json = toml_to_asl_json(TOML).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["StartAt"], "Validate");
        assert_eq!(v["States"]["Validate"]["ResultPath"], "$.validated");
        assert_eq!(v["States"]["Validate"]["Parameters"]["CamelKept"], 1);
        assert_eq!(
            v["States"]["Validate"]["Retry"][0]["ErrorEquals"][0],
            "States.ALL"
        );
        assert_eq!(v["States"]["Route"]["Choices"][0]["BooleanEquals"], true);
        let back = asl_json_to_toml(&json).unwrap();
        let again: Value = serde_json::from_str(&toml_to_asl_json(&back).unwrap()).unwrap();
        assert_eq!(v, again);
        let t1: toml::Table = toml::from_str(TOML).unwrap();
        let t2: toml::Table = toml::from_str(&back).unwrap();
        assert_eq!(t1, t2);
    }

    #[test]
    fn null_and_bad_input_are_errors() {
        assert!(asl_json_to_toml(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":null,"End":true}}}"#
        )
        .is_err());
        assert!(asl_json_to_toml("nope").is_err());
        assert!(toml_to_asl_json("start_at = ").is_err());
    }
}
