//! A focused JSON Schema draft 4 validator for request models, as API Gateway uses them.
//!
//! Hand-written rather than the `jsonschema` crate: that crate brings a regex engine, URL
//! resolution and dozens of transitive crates to build on a 2-core machine, for the handful
//! of keywords request models use. Every keyword is checked when the schema is compiled, so
//! a keyword this subset does not implement is a config error, never a silent pass.

use serde_json::{Map, Value};

/// A compiled schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    root: Value,
}

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "id",
    "title",
    "description",
    "default",
    "format",
    "definitions",
];

impl Schema {
    /// Compiles JSON text; the message says what is not draft-4 JSON Schema.
    pub fn compile(text: &str) -> Result<Schema, String> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| format!("the model is not JSON: {e}"))?;
        check(&root, &root, "#")?;
        Ok(Schema { root })
    }

    /// Whether `value` satisfies the schema.
    pub fn is_valid(&self, value: &Value) -> bool {
        valid(&self.root, &self.root, value, 0)
    }
}

fn check(schema: &Value, root: &Value, at: &str) -> Result<(), String> {
    let Value::Object(map) = schema else {
        return Err(format!("{at}: a schema must be a JSON object"));
    };
    for (key, v) in map {
        let here = format!("{at}/{key}");
        match key.as_str() {
            k if ANNOTATIONS.contains(&k) && k != "definitions" => {}
            "definitions" | "properties" => {
                let Value::Object(defs) = v else {
                    return Err(format!("{here} must be an object of schemas"));
                };
                for (name, s) in defs {
                    check(s, root, &format!("{here}/{name}"))?;
                }
            }
            "patternProperties" => {
                return Err(format!("{here}: `patternProperties` is not supported"))
            }
            "type" => {
                let types: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for t in types {
                    match t.as_str() {
                        Some(
                            "object" | "array" | "string" | "number" | "integer" | "boolean"
                            | "null",
                        ) => {}
                        _ => return Err(format!("{here}: `{t}` is not a JSON Schema type")),
                    }
                }
            }
            "required" | "enum" => {
                let ok = match v {
                    Value::Array(a) => key == "enum" || a.iter().all(Value::is_string),
                    _ => false,
                };
                if !ok {
                    return Err(format!("{here} must be an array"));
                }
            }
            "additionalProperties" | "additionalItems" => match v {
                Value::Bool(_) => {}
                s => check(s, root, &here)?,
            },
            "items" => match v {
                Value::Array(list) => {
                    for (i, s) in list.iter().enumerate() {
                        check(s, root, &format!("{here}/{i}"))?;
                    }
                }
                s => check(s, root, &here)?,
            },
            "allOf" | "anyOf" | "oneOf" => match v {
                Value::Array(list) if !list.is_empty() => {
                    for (i, s) in list.iter().enumerate() {
                        check(s, root, &format!("{here}/{i}"))?;
                    }
                }
                _ => return Err(format!("{here} must be a non-empty array of schemas")),
            },
            "not" => check(v, root, &here)?,
            "$ref" => {
                let target = v.as_str().and_then(|r| resolve(root, r));
                if target.is_none() {
                    return Err(format!(
                        "{here}: `{v}` must point into this schema, e.g. \"#/definitions/Pet\""
                    ));
                }
            }
            "minimum" | "maximum" | "multipleOf" => {
                if !v.is_number() {
                    return Err(format!("{here} must be a number"));
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" | "uniqueItems" => {
                if !v.is_boolean() {
                    return Err(format!("{here} must be true or false (draft 4)"));
                }
            }
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
            | "maxProperties" => {
                if !v.is_u64() {
                    return Err(format!("{here} must be a non-negative integer"));
                }
            }
            other => {
                let hint = if other == "pattern" {
                    " (no regular expressions in this subset)"
                } else {
                    ""
                };
                return Err(format!(
                    "{here}: `{other}` is not a supported draft-4 keyword{hint}"
                ));
            }
        }
    }
    Ok(())
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer).filter(|v| v.is_object())
}

fn type_matches(t: &str, value: &Value) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn valid(schema: &Value, root: &Value, value: &Value, depth: usize) -> bool {
    // A `$ref` cycle on a value stops here instead of overflowing the stack.
    if depth > 64 {
        return false;
    }
    let Value::Object(s) = schema else {
        return true;
    };
    let sub = |schema: &Value, value: &Value| valid(schema, root, value, depth + 1);
    s.iter().all(|(key, v)| match key.as_str() {
        "$ref" => v
            .as_str()
            .and_then(|r| resolve(root, r))
            .is_some_and(|target| sub(target, value)),
        "type" => match v {
            Value::Array(types) => types
                .iter()
                .any(|t| t.as_str().is_some_and(|t| type_matches(t, value))),
            t => t.as_str().is_some_and(|t| type_matches(t, value)),
        },
        "enum" => v.as_array().is_some_and(|options| options.contains(value)),
        "allOf" => list(v).iter().all(|s| sub(s, value)),
        "anyOf" => list(v).iter().any(|s| sub(s, value)),
        "oneOf" => list(v).iter().filter(|s| sub(s, value)).count() == 1,
        "not" => !sub(v, value),
        _ => match value {
            Value::Object(obj) => object_keyword(key, v, s, obj, &sub),
            Value::Array(items) => array_keyword(key, v, s, items, &sub),
            Value::String(text) => {
                let len = text.chars().count() as u64;
                match key.as_str() {
                    "minLength" => v.as_u64().is_some_and(|n| len >= n),
                    "maxLength" => v.as_u64().is_some_and(|n| len <= n),
                    _ => true,
                }
            }
            Value::Number(n) => number_keyword(key, v, s, n.as_f64().unwrap_or(0.0)),
            _ => true,
        },
    })
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn object_keyword(
    key: &str,
    v: &Value,
    s: &Map<String, Value>,
    obj: &Map<String, Value>,
    sub: &dyn Fn(&Value, &Value) -> bool,
) -> bool {
    match key {
        "required" => list(v)
            .iter()
            .all(|k| k.as_str().is_some_and(|k| obj.contains_key(k))),
        "properties" => obj
            .iter()
            .all(|(k, value)| v.get(k).is_none_or(|p| sub(p, value))),
        "additionalProperties" => {
            let props = s.get("properties");
            obj.iter()
                .filter(|(k, _)| props.and_then(|p| p.get(k.as_str())).is_none())
                .all(|(_, value)| match v {
                    Value::Bool(allowed) => *allowed,
                    schema => sub(schema, value),
                })
        }
        "minProperties" => v.as_u64().is_some_and(|n| obj.len() as u64 >= n),
        "maxProperties" => v.as_u64().is_some_and(|n| obj.len() as u64 <= n),
        _ => true,
    }
}

fn array_keyword(
    key: &str,
    v: &Value,
    s: &Map<String, Value>,
    items: &[Value],
    sub: &dyn Fn(&Value, &Value) -> bool,
) -> bool {
    match key {
        "items" => match v {
            Value::Array(tuple) => items.iter().zip(tuple).all(|(item, s)| sub(s, item)),
            schema => items.iter().all(|item| sub(schema, item)),
        },
        "additionalItems" => match (s.get("items"), v) {
            (Some(Value::Array(tuple)), Value::Bool(false)) => items.len() <= tuple.len(),
            (Some(Value::Array(tuple)), schema) if schema.is_object() => {
                items.iter().skip(tuple.len()).all(|item| sub(schema, item))
            }
            _ => true,
        },
        "minItems" => v.as_u64().is_some_and(|n| items.len() as u64 >= n),
        "maxItems" => v.as_u64().is_some_and(|n| items.len() as u64 <= n),
        "uniqueItems" => {
            v != &Value::Bool(true)
                || items
                    .iter()
                    .enumerate()
                    .all(|(i, a)| items[..i].iter().all(|b| a != b))
        }
        _ => true,
    }
}

fn number_keyword(key: &str, v: &Value, s: &Map<String, Value>, n: f64) -> bool {
    let bound = v.as_f64().unwrap_or(0.0);
    let exclusive = |k: &str| s.get(k) == Some(&Value::Bool(true));
    match key {
        "minimum" if exclusive("exclusiveMinimum") => n > bound,
        "minimum" => n >= bound,
        "maximum" if exclusive("exclusiveMaximum") => n < bound,
        "maximum" => n <= bound,
        "multipleOf" => bound > 0.0 && (n / bound).fract().abs() < 1e-9,
        _ => true,
    }
}
