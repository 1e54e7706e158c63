//! Rendering: walks the nodes with `$input`, `$context`, `$stageVariables`, `$util` and the
//! template's own variables.

use std::cell::OnceCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ast::{Access, BinOp, Expr, Node, Reference};
use super::{jsonpath, util, Input, RenderError};

/// `#foreach` nests at most this deep, and loops at most this many times in all, so a
/// template cannot make a request run away.
const MAX_ITERATIONS: usize = 100_000;

struct Env<'a> {
    input: &'a Input<'a>,
    body_json: OnceCell<Option<Value>>,
    context: &'a Value,
    stage_variables: &'a Value,
    locals: HashMap<String, Value>,
    iterations: usize,
}

pub(super) fn render(
    nodes: &[Node],
    input: &Input<'_>,
    context: &Value,
    stage_variables: &Value,
) -> Result<String, RenderError> {
    let mut env = Env {
        input,
        body_json: OnceCell::new(),
        context,
        stage_variables,
        locals: HashMap::new(),
        iterations: 0,
    };
    let mut out = String::with_capacity(256);
    env.nodes(nodes, &mut out)?;
    Ok(out)
}

/// What a reference evaluates to: a value, or nothing (undefined).
type Maybe = Option<Value>;

impl Env<'_> {
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<(), RenderError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Ref(r) => match self.reference(r)? {
                    Some(v) => write_value(&v, out),
                    None if r.quiet => {}
                    None => out.push_str(&r.source),
                },
                Node::Set(name, e) => {
                    let v = self.expr(e)?;
                    self.locals.insert(name.clone(), v);
                }
                Node::If(branches, otherwise) => {
                    let mut chosen = otherwise;
                    for (cond, body) in branches {
                        if truthy(&self.expr(cond)?) {
                            chosen = body;
                            break;
                        }
                    }
                    self.nodes(chosen, out)?;
                }
                Node::Foreach(var, list, body) => {
                    let items = match self.expr(list)? {
                        Value::Array(a) => a,
                        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let saved = (
                        self.locals.remove(var.as_str()),
                        self.locals.remove("foreach"),
                    );
                    let count = items.len();
                    for (i, item) in items.into_iter().enumerate() {
                        self.iterations += 1;
                        if self.iterations > MAX_ITERATIONS {
                            return Err(RenderError::Call(format!(
                                "#foreach ran over {MAX_ITERATIONS} iterations"
                            )));
                        }
                        self.locals.insert(var.clone(), item);
                        let mut state = Map::new();
                        state.insert("index".into(), i.into());
                        state.insert("count".into(), (i + 1).into());
                        state.insert("hasNext".into(), (i + 1 < count).into());
                        state.insert("first".into(), (i == 0).into());
                        state.insert("last".into(), (i + 1 == count).into());
                        self.locals.insert("foreach".into(), Value::Object(state));
                        self.locals.insert("velocityCount".into(), (i + 1).into());
                        self.nodes(body, out)?;
                    }
                    restore(&mut self.locals, var, saved.0);
                    restore(&mut self.locals, "foreach", saved.1);
                }
            }
        }
        Ok(())
    }

    fn body_json(&self) -> Result<&Value, RenderError> {
        self.body_json
            .get_or_init(|| {
                if self.input.body.trim().is_empty() {
                    Some(Value::Object(Map::new()))
                } else {
                    serde_json::from_str(self.input.body).ok()
                }
            })
            .as_ref()
            .ok_or(RenderError::BodyNotJson)
    }

    fn reference(&mut self, r: &Reference) -> Result<Maybe, RenderError> {
        let mut chain = r.chain.iter();
        let mut current: Maybe = match r.name.as_str() {
            "input" => match chain.next() {
                None => None,
                Some(first) => self.input_access(first)?,
            },
            "util" => match chain.next() {
                Some(Access::Call(name, args)) => {
                    let args = self.args(args)?;
                    Some(util::call(name, &args)?)
                }
                _ => None,
            },
            "context" => Some(self.context.clone()),
            "stageVariables" => Some(self.stage_variables.clone()),
            name => self.locals.get(name).cloned(),
        };
        for access in chain {
            let Some(value) = current else {
                return Ok(None);
            };
            current = match access {
                Access::Prop(p) => member(&value, p),
                Access::Index(e) => {
                    let key = self.expr(e)?;
                    match key {
                        Value::Number(n) => n.as_u64().and_then(|i| value.get(i as usize).cloned()),
                        Value::String(s) => value.get(s.as_str()).cloned(),
                        _ => None,
                    }
                }
                Access::Call(m, args) => {
                    let args = self.args(args)?;
                    method(&value, m, &args)?
                }
            };
        }
        Ok(current.filter(|v| !v.is_null()))
    }

    fn input_access(&mut self, access: &Access) -> Result<Maybe, RenderError> {
        Ok(match access {
            Access::Prop(p) if p == "body" => Some(Value::String(self.input.body.to_owned())),
            Access::Call(m, args) => {
                let args = self.args(args)?;
                let arg = args.first().and_then(Value::as_str);
                match (m.as_str(), arg) {
                    ("json", Some(path)) => {
                        let v =
                            jsonpath::select(self.body_json()?, path).map_err(RenderError::Call)?;
                        Some(Value::String(v.to_string()))
                    }
                    ("path", Some(path)) => {
                        Some(jsonpath::select(self.body_json()?, path).map_err(RenderError::Call)?)
                    }
                    ("params", None) => {
                        let map = |m: &std::collections::BTreeMap<String, String>| {
                            Value::Object(
                                m.iter()
                                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                    .collect(),
                            )
                        };
                        let mut all = Map::new();
                        all.insert("path".into(), map(&self.input.path));
                        all.insert("querystring".into(), map(&self.input.querystring));
                        all.insert("header".into(), map(&self.input.header));
                        Some(Value::Object(all))
                    }
                    ("params", Some(name)) => self
                        .input
                        .path
                        .get(name)
                        .or_else(|| self.input.querystring.get(name))
                        .or_else(|| {
                            self.input
                                .header
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                .map(|(_, v)| v)
                        })
                        // A parameter the request lacks is an empty string on API Gateway.
                        .map_or_else(
                            || Value::String(String::new()),
                            |v| Value::String(v.clone()),
                        )
                        .into(),
                    (other, _) => {
                        return Err(RenderError::Call(format!(
                            "$input.{other} needs a string argument (json, path, params)"
                        )))
                    }
                }
            }
            _ => None,
        })
    }

    fn args(&mut self, args: &[Expr]) -> Result<Vec<Value>, RenderError> {
        args.iter().map(|a| self.expr(a)).collect()
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, RenderError> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Interp(nodes) => {
                let mut s = String::new();
                self.nodes(nodes, &mut s)?;
                Value::String(s)
            }
            Expr::Ref(r) => self.reference(r)?.unwrap_or(Value::Null),
            Expr::List(items) => Value::Array(self.args(items)?),
            Expr::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let k = match self.expr(k)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    m.insert(k, self.expr(v)?);
                }
                Value::Object(m)
            }
            Expr::Not(e) => Value::Bool(!truthy(&self.expr(e)?)),
            Expr::Binary(BinOp::And, a, b) => {
                Value::Bool(truthy(&self.expr(a)?) && truthy(&self.expr(b)?))
            }
            Expr::Binary(BinOp::Or, a, b) => {
                Value::Bool(truthy(&self.expr(a)?) || truthy(&self.expr(b)?))
            }
            Expr::Binary(op, a, b) => binary(*op, self.expr(a)?, self.expr(b)?),
        })
    }
}

fn restore(locals: &mut HashMap<String, Value>, name: &str, saved: Option<Value>) {
    match saved {
        Some(v) => locals.insert(name.to_owned(), v),
        None => locals.remove(name),
    };
}

fn member(value: &Value, name: &str) -> Maybe {
    match value {
        Value::Object(m) => m.get(name).cloned(),
        _ => None,
    }
}

/// The Java methods templates call on values.
fn method(value: &Value, name: &str, args: &[Value]) -> Result<Maybe, RenderError> {
    let len = match value {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        _ => 0,
    };
    Ok(match (name, args) {
        ("size" | "length", []) => Some(len.into()),
        ("isEmpty", []) => Some((len == 0).into()),
        ("toString", []) => Some(Value::String(text(value))),
        ("get", [k]) => match (value, k) {
            (Value::Object(m), Value::String(k)) => m.get(k).cloned(),
            (Value::Array(a), Value::Number(n)) => {
                n.as_u64().and_then(|i| a.get(i as usize).cloned())
            }
            _ => None,
        },
        ("keySet", []) => match value {
            Value::Object(m) => Some(Value::Array(
                m.keys().map(|k| Value::String(k.clone())).collect(),
            )),
            _ => None,
        },
        ("containsKey", [Value::String(k)]) => Some(value.get(k.as_str()).is_some().into()),
        ("contains", [x]) => Some(
            match value {
                Value::String(s) => s.contains(text(x).as_str()),
                Value::Array(a) => a.contains(x),
                _ => false,
            }
            .into(),
        ),
        ("equals", [x]) => Some((value == x).into()),
        ("toLowerCase", []) => Some(Value::String(text(value).to_lowercase())),
        ("toUpperCase", []) => Some(Value::String(text(value).to_uppercase())),
        ("trim", []) => Some(Value::String(text(value).trim().to_owned())),
        ("startsWith", [x]) => Some(text(value).starts_with(text(x).as_str()).into()),
        ("endsWith", [x]) => Some(text(value).ends_with(text(x).as_str()).into()),
        ("replace", [a, b]) => Some(Value::String(
            text(value).replace(text(a).as_str(), &text(b)),
        )),
        _ => {
            return Err(RenderError::Call(format!(
                "unsupported method `.{name}` with {} argument(s)",
                args.len()
            )))
        }
    })
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Value {
    let num = |v: &Value| v.as_f64();
    match op {
        BinOp::Eq => Value::Bool(loose_eq(&a, &b)),
        BinOp::Ne => Value::Bool(!loose_eq(&a, &b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (num(&a), num(&b)) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => Some(text(&a).cmp(&text(&b))),
            };
            Value::Bool(ord.is_some_and(|o| match op {
                BinOp::Lt => o.is_lt(),
                BinOp::Le => o.is_le(),
                BinOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        BinOp::Add if !(a.is_number() && b.is_number()) => {
            Value::String(format!("{}{}", text(&a), text(&b)))
        }
        _ => {
            let (Some(x), Some(y)) = (num(&a), num(&b)) else {
                return Value::Null;
            };
            let ints = a.is_i64() && b.is_i64();
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div if y == 0.0 => return Value::Null,
                BinOp::Div if ints => (x as i64 / y as i64) as f64,
                BinOp::Div => x / y,
                BinOp::Rem if y == 0.0 => return Value::Null,
                _ => x % y,
            };
            if ints {
                Value::from(r as i64)
            } else {
                serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
            }
        }
    }
}

/// Numbers compare by value (1 == 1.0), everything else exactly.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
