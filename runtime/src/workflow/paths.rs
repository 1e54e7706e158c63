//! The JSONPath subset that Amazon States Language uses: `$` (input), `$$` (context object),
//! `$name` (variables), dot and bracket fields, indexes, slices, `*`, unions and simple filters.
//!
//! Hand-written rather than a JSONPath crate because ASL needs three things those crates do
//! not expose: Jayway's definite/indefinite result shape (a definite path yields the value, an
//! indefinite one a list), in-place writes for reference paths (ResultPath), and AWS's
//! normalized path text in error causes (`$['field']`).

use serde_json::{Map, Value};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state's input (or the value the path is applied to).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>),
    Union(Vec<i64>),
    Filter(Filter),
    Descend(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<String>,
    cmp: Option<(String, Value)>,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// What the path starts from.
    pub root: Root,
    segs: Vec<Seg>,
    text: String,
}

/// Why a path text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct PathError {
    /// The text given.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Path {
    /// Parses a path such as `$.a.b[0]`, `$$.Execution.Id` or `$var.x`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let err = |reason: &str| PathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        let (root, mut rest) = if let Some(r) = t.strip_prefix("$$") {
            (Root::Context, r)
        } else if let Some(r) = t.strip_prefix('$') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                (Root::Input, r)
            } else {
                (Root::Variable(r[..end].to_string()), &r[end..])
            }
        } else {
            return Err(err("a path must start with '$'"));
        };
        let mut segs = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("..") {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(err("empty field after '..'"));
                }
                segs.push(Seg::Descend(r[..end].to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(err("empty field name"));
                }
                let name = &r[..end];
                segs.push(if name == "*" {
                    Seg::Wildcard
                } else {
                    Seg::Field(name.to_string())
                });
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let (seg, after) = parse_bracket(r).map_err(|e| err(&e))?;
                segs.push(seg);
                rest = after;
            } else {
                return Err(err("expected '.' or '['"));
            }
        }
        Ok(Path {
            root,
            segs,
            text: t.to_string(),
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path names at most one value (only fields and indexes).
    pub fn is_definite(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Field(_) | Seg::Index(_)))
    }

    /// Whether the path can be written to (a reference path: fields and indexes only).
    pub fn is_reference(&self) -> bool {
        self.is_definite()
    }

    /// AWS's normalized rendering used in error causes, e.g. `$['a'][0]`.
    pub fn normalized(&self) -> String {
        let mut s = String::from("$");
        for seg in &self.segs {
            match seg {
                Seg::Field(f) => s.push_str(&format!("['{f}']")),
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                _ => s.push_str("[*]"),
            }
        }
        s
    }

    /// Selects from `root` (the value the path's root denotes). `None` when a definite path
    /// matches nothing; indefinite paths always yield a list.
    pub fn select(&self, root: &Value) -> Option<Value> {
        if self.is_definite() {
            let mut cur = root;
            for seg in &self.segs {
                cur = match seg {
                    Seg::Field(f) => cur.as_object()?.get(f)?,
                    Seg::Index(i) => index(cur.as_array()?, *i)?,
                    _ => return None,
                };
            }
            return Some(cur.clone());
        }
        let mut cur: Vec<&Value> = vec![root];
        for seg in &self.segs {
            let mut next = Vec::new();
            for v in cur {
                step(seg, v, &mut next);
            }
            cur = next;
        }
        Some(Value::Array(cur.into_iter().cloned().collect()))
    }

    /// Writes `value` at this reference path inside `target`, creating objects on the way.
    pub fn write(&self, target: &mut Value, value: Value) -> Result<(), String> {
        let mut cur = target;
        for seg in &self.segs {
            cur = match seg {
                Seg::Field(f) => {
                    if cur.is_null() {
                        *cur = Value::Object(Map::new());
                    }
                    let Some(obj) = cur.as_object_mut() else {
                        return Err(format!("cannot set field '{f}' on a non-object value"));
                    };
                    obj.entry(f.clone()).or_insert(Value::Null)
                }
                Seg::Index(i) => {
                    let Some(arr) = cur.as_array_mut() else {
                        return Err(format!("cannot set index {i} on a non-array value"));
                    };
                    let len = arr.len() as i64;
                    let at = if *i < 0 { len + i } else { *i };
                    if at < 0 || at >= len {
                        return Err(format!("index {i} out of bounds"));
                    }
                    &mut arr[at as usize]
                }
                _ => return Err("not a reference path".into()),
            };
        }
        *cur = value;
        Ok(())
    }
}

fn index(arr: &[Value], i: i64) -> Option<&Value> {
    let at = if i < 0 { arr.len() as i64 + i } else { i };
    if at < 0 {
        return None;
    }
    arr.get(at as usize)
}

fn step<'a>(seg: &Seg, v: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Seg::Field(f) => out.extend(v.as_object().and_then(|o| o.get(f))),
        Seg::Index(i) => out.extend(v.as_array().and_then(|a| index(a, *i))),
        Seg::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Seg::Slice(from, to) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = norm(from.unwrap_or(0));
                let e = norm(to.unwrap_or(len));
                if s < e {
                    out.extend(a[s as usize..e as usize].iter());
                }
            }
        }
        Seg::Union(ixs) => {
            if let Some(a) = v.as_array() {
                out.extend(ixs.iter().filter_map(|i| index(a, *i)));
            }
        }
        Seg::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => vec![],
            };
            out.extend(items.into_iter().filter(|item| f.matches(item)));
        }
        Seg::Descend(name) => descend(name, v, out),
    }
}

fn descend<'a>(name: &str, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            if let Some(x) = o.get(name) {
                out.push(x);
            }
            for x in o.values() {
                descend(name, x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| descend(name, x, out)),
        _ => {}
    }
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        let mut cur = item;
        for f in &self.path {
            match cur.as_object().and_then(|o| o.get(f)) {
                Some(x) => cur = x,
                None => return false,
            }
        }
        let Some((op, lit)) = &self.cmp else {
            return true;
        };
        let ord = match (cur, lit) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(std::cmp::Ordering::Less),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (a, b) => {
                return match op.as_str() {
                    "==" => a == b,
                    "!=" => a != b,
                    _ => false,
                }
            }
        };
        use std::cmp::Ordering::*;
        match op.as_str() {
            "==" => ord == Equal,
            "!=" => ord != Equal,
            "<" => ord == Less,
            "<=" => ord != Greater,
            ">" => ord == Greater,
            ">=" => ord != Less,
            _ => false,
        }
    }
}

fn parse_bracket(r: &str) -> Result<(Seg, &str), String> {
    if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &r[1..];
        let mut name = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && body[i + 1..].starts_with([q, '\\']) {
                // Only the delimiter and the backslash itself are escapable; any other
                // backslash is literal (as Jayway, which AWS uses, reads it).
                if let Some((_, n)) = chars.next() {
                    name.push(n);
                }
            } else if c == q {
                let after = &body[i + 1..];
                let after = after.strip_prefix(']').ok_or("expected ']'")?;
                return Ok((Seg::Field(name), after));
            } else {
                name.push(c);
            }
        }
        return Err("unterminated quoted field".into());
    }
    if let Some(f) = r.strip_prefix("?(") {
        let end = f.find(")]").ok_or("unterminated filter")?;
        let filter = parse_filter(&f[..end])?;
        return Ok((Seg::Filter(filter), &f[end + 2..]));
    }
    let end = r.find(']').ok_or("expected ']'")?;
    let body = r[..end].trim();
    let after = &r[end + 1..];
    let num = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| format!("bad index '{s}'"))
        }
    };
    let seg = if body == "*" {
        Seg::Wildcard
    } else if let Some((a, b)) = body.split_once(':') {
        Seg::Slice(num(a)?, num(b.split(':').next().unwrap_or(""))?)
    } else if body.contains(',') {
        let ixs = body
            .split(',')
            .map(|s| num(s).and_then(|n| n.ok_or_else(|| "empty index".to_string())))
            .collect::<Result<_, _>>()?;
        Seg::Union(ixs)
    } else {
        Seg::Index(num(body)?.ok_or("empty index")?)
    };
    Ok((seg, after))
}

fn parse_filter(f: &str) -> Result<Filter, String> {
    let f = f.trim();
    let ops = ["==", "!=", "<=", ">=", "<", ">"];
    let (lhs, cmp) = match ops.iter().find_map(|op| f.find(op).map(|i| (i, *op))) {
        Some((i, op)) => {
            let lit = f[i + op.len()..].trim();
            let lit = if let Some(s) = lit.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                Value::String(s.to_string())
            } else {
                serde_json::from_str(lit).map_err(|_| format!("bad literal '{lit}'"))?
            };
            (f[..i].trim(), Some((op.to_string(), lit)))
        }
        None => (f, None),
    };
    let rest = lhs.strip_prefix('@').ok_or("filter must start with '@'")?;
    let path = rest
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Filter { path, cmp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_definite_and_indefinite() {
        let v = json!({"a": {"b": [1, 2, 3]}, "users": [{"s": 0}, {"s": 1}]});
        let p = |s| Path::parse(s).unwrap();
        assert_eq!(p("$.a.b[1]").select(&v), Some(json!(2)));
        assert_eq!(p("$.a.b[1:]").select(&v), Some(json!([2, 3])));
        assert_eq!(p("$.a.b[*]").select(&v), Some(json!([1, 2, 3])));
        assert_eq!(
            p("$.users[?(@.s == 0)]").select(&v),
            Some(json!([{"s": 0}]))
        );
        assert_eq!(p("$.nope").select(&v), None);
        assert_eq!(p("$.nope").normalized(), "$['nope']");
        assert_eq!(p("$x.y").root, Root::Variable("x".into()));
    }

    #[test]
    fn writes_reference_paths() {
        let mut v = json!({"a": 1});
        Path::parse("$.b.c")
            .unwrap()
            .write(&mut v, json!(2))
            .unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        assert!(Path::parse("a.b").is_err());
    }
}
