//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign` in JSONPath
//! states) and JSONata-valued fields (`Arguments`, `Output`, `Assign` in JSONata states).

use serde_json::{Map, Value};

use super::error::StateError;
use super::intrinsics::Call;
use super::jsonata;
use super::paths::{Path, Root};

/// What a path or template is evaluated against.
pub struct Env<'a> {
    /// The context object (`$$`).
    pub context: &'a Value,
    /// The workflow variables visible to the state.
    pub vars: &'a Map<String, Value>,
}

impl Env<'_> {
    /// Resolves a path against `input`, the context object or a variable.
    pub fn resolve(&self, path: &Path, input: &Value) -> Option<Value> {
        match &path.root {
            Root::Input => path.select(input),
            Root::Context => path.select(self.context),
            Root::Variable(name) => path.select(self.vars.get(name)?),
        }
    }

    /// Like [`Env::resolve`] but a missing value is AWS's `States.Runtime` invalid-path error.
    pub fn require(&self, path: &Path, input: &Value) -> Result<Value, StateError> {
        self.resolve(path, input).ok_or_else(|| invalid_path(path))
    }
}

/// AWS's cause for a path that selects nothing.
pub fn invalid_path(path: &Path) -> StateError {
    StateError::runtime(format!(
        "Invalid path '{}' : No results for path: {}",
        path.text(),
        path.normalized()
    ))
}

/// A compiled JSONPath payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A literal value copied as is.
    Lit(Value),
    /// A `"key.$": "$.path"` reference.
    Path(Path),
    /// A `"key.$": "States.Fn(...)"` intrinsic call.
    Call(Call),
    /// An object whose fields are templates (keys without the `.$` suffix).
    Obj(Vec<(String, Template)>),
    /// An array whose items are templates.
    Arr(Vec<Template>),
}

impl Template {
    /// Compiles a template; errors name the offending key.
    pub fn compile(v: &Value) -> Result<Template, String> {
        Ok(match v {
            Value::Object(o) => {
                let mut fields = Vec::with_capacity(o.len());
                for (k, x) in o {
                    if let Some(key) = k.strip_suffix(".$") {
                        let Value::String(s) = x else {
                            return Err(format!("the value of '{k}' must be a string"));
                        };
                        fields.push((
                            key.to_string(),
                            Self::dynamic(s).map_err(|e| format!("{k}: {e}"))?,
                        ));
                    } else {
                        fields.push((k.clone(), Self::compile(x)?));
                    }
                }
                Template::Obj(fields)
            }
            Value::Array(a) => {
                Template::Arr(a.iter().map(Self::compile).collect::<Result<_, _>>()?)
            }
            other => Template::Lit(other.clone()),
        })
    }

    /// Compiles the value of a `.$` key: a path or an intrinsic call.
    pub fn dynamic(s: &str) -> Result<Template, String> {
        if s.trim_start().starts_with("States.") {
            Call::parse(s).map(Template::Call)
        } else {
            Path::parse(s)
                .map(Template::Path)
                .map_err(|e| e.to_string())
        }
    }

    /// Evaluates the template against `input`.
    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<Value, StateError> {
        self.eval_field(input, env, "")
    }

    fn eval_field(&self, input: &Value, env: &Env<'_>, key: &str) -> Result<Value, StateError> {
        Ok(match self {
            Template::Lit(v) => v.clone(),
            Template::Path(p) => env.resolve(p, input).ok_or_else(|| {
                StateError::runtime(format!(
                    "The JsonPath argument for the field '{key}.$' could not be found in the input '{}'",
                    input
                ))
            })?,
            Template::Call(c) => c.eval(&|p: &Path| env.require(p, input))?,
            Template::Obj(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval_field(input, env, k)?);
                }
                Value::Object(out)
            }
            Template::Arr(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval_field(input, env, key))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// Evaluates a JSONata-valued field: `{% expr %}` strings are evaluated, objects and arrays
/// recursively, everything else is literal. `field` names the field in error causes.
pub fn eval_jsonata(
    v: &Value,
    field: &str,
    states: &Value,
    vars: &Map<String, Value>,
) -> Result<Value, StateError> {
    match v {
        Value::String(s) => match jsonata::expression(s) {
            Some(expr) => match jsonata::evaluate(expr, states, vars) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(StateError::query(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
                ))),
                Err(e) => Err(StateError::query(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation: {e}"
                ))),
            },
            None => Ok(v.clone()),
        },
        Value::Object(o) => {
            let mut out = Map::with_capacity(o.len());
            for (k, x) in o {
                out.insert(k.clone(), eval_jsonata(x, &format!("{field}/{k}"), states, vars)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => Ok(Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| eval_jsonata(x, &format!("{field}[{i}]"), states, vars))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}
