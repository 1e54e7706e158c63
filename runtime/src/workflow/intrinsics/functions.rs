//! The `States.*` functions themselves, applied to already-evaluated arguments.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::workflow::error::StateError;

fn fail(name: &str, msg: impl std::fmt::Display) -> StateError {
    StateError::intrinsic(format!("States.{name}: {msg}"))
}

fn int_arg(name: &str, v: &Value) -> Result<i64, StateError> {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => Ok(f as i64),
        _ => Err(fail(name, format!("expected an integer but got {v}"))),
    }
}

fn str_arg<'a>(name: &str, v: &'a Value) -> Result<&'a str, StateError> {
    v.as_str()
        .ok_or_else(|| fail(name, format!("expected a string but got {v}")))
}

fn arr_arg<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, StateError> {
    v.as_array()
        .ok_or_else(|| fail(name, format!("expected an array but got {v}")))
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), StateError> {
    if args.len() != n {
        return Err(fail(
            name,
            format!("expected {n} argument(s) but got {}", args.len()),
        ));
    }
    Ok(())
}

/// Integers stay integers in JSON output (`3`, not `3.0`).
pub(crate) fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// Renders a value as `States.Format` does (Java's `toString` for maps and lists).
fn format_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k}={}", format_arg(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(format_arg).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

pub(super) fn apply(name: &str, args: Vec<Value>) -> Result<Value, StateError> {
    match name {
        "Format" => {
            let tpl = str_arg(
                name,
                args.first().ok_or_else(|| fail(name, "missing template"))?,
            )?;
            let mut out = String::new();
            let mut rest = args[1..].iter();
            let mut chars = tpl.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if matches!(chars.peek(), Some('{') | Some('}')) => {
                        out.extend(chars.next());
                    }
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        let v = rest
                            .next()
                            .ok_or_else(|| fail(name, "more placeholders than arguments"))?;
                        out.push_str(&format_arg(v));
                    }
                    c => out.push(c),
                }
            }
            if rest.next().is_some() {
                return Err(fail(name, "more arguments than placeholders"));
            }
            Ok(Value::String(out))
        }
        "StringToJson" => {
            arity(name, &args, 1)?;
            let s = str_arg(name, &args[0])?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str::<Value>(s)
                .map(|v| match v.as_f64() {
                    Some(f) if v.is_f64() => num(f),
                    _ => v,
                })
                .map_err(|e| fail(name, e))
        }
        "JsonToString" => {
            arity(name, &args, 1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "Array" => Ok(Value::Array(args)),
        "ArrayPartition" => {
            arity(name, &args, 2)?;
            let arr = arr_arg(name, &args[0])?;
            let size = int_arg(name, &args[1])?;
            if size <= 0 {
                return Err(fail(name, "chunk size must be greater than 0"));
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "ArrayContains" => {
            arity(name, &args, 2)?;
            let arr = arr_arg(name, &args[0])?;
            Ok(Value::Bool(arr.iter().any(|x| json_eq(x, &args[1]))))
        }
        "ArrayRange" => {
            arity(name, &args, 3)?;
            let (s, e, st) = (
                int_arg(name, &args[0])?,
                int_arg(name, &args[1])?,
                int_arg(name, &args[2])?,
            );
            if st == 0 {
                return Err(fail(name, "step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = s;
            while (st > 0 && i <= e) || (st < 0 && i >= e) {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return Err(fail(name, "the result may not exceed 1000 items"));
                }
                i += st;
            }
            Ok(Value::Array(out))
        }
        "ArrayGetItem" => {
            arity(name, &args, 2)?;
            let arr = arr_arg(name, &args[0])?;
            let i = int_arg(name, &args[1])?;
            usize::try_from(i)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .ok_or_else(|| fail(name, format!("index {i} out of bounds")))
        }
        "ArrayLength" => {
            arity(name, &args, 1)?;
            Ok(Value::from(arr_arg(name, &args[0])?.len()))
        }
        "ArrayUnique" => {
            arity(name, &args, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr_arg(name, &args[0])? {
                if !out.iter().any(|x| json_eq(x, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "Base64Encode" => {
            arity(name, &args, 1)?;
            let s = str_arg(name, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s),
            ))
        }
        "Base64Decode" => {
            arity(name, &args, 1)?;
            let s = str_arg(name, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| fail(name, e))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "Hash" => {
            arity(name, &args, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let alg = str_arg(name, &args[1])?;
            hash(alg, data.as_bytes())
                .map(Value::String)
                .ok_or_else(|| fail(name, format!("unsupported algorithm '{alg}'")))
        }
        "JsonMerge" => {
            arity(name, &args, 3)?;
            if args[2] != Value::Bool(false) {
                return Err(fail(name, "deep merging is not supported; pass false"));
            }
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(name, "both arguments must be JSON objects"));
            };
            let mut out: Map<String, Value> = a.clone();
            out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(Value::Object(out))
        }
        "MathRandom" => {
            use rand::{Rng, SeedableRng};
            if !(2..=3).contains(&args.len()) {
                return Err(fail(name, "expected 2 or 3 arguments"));
            }
            let (lo, hi) = (int_arg(name, &args[0])?, int_arg(name, &args[1])?);
            if lo >= hi {
                return Err(fail(name, "start must be less than end"));
            }
            let n = match args.get(2) {
                Some(seed) => {
                    let seed = int_arg(name, seed)? as u64;
                    rand::rngs::StdRng::seed_from_u64(seed).gen_range(lo..hi)
                }
                None => rand::thread_rng().gen_range(lo..hi),
            };
            Ok(Value::from(n))
        }
        "MathAdd" => {
            arity(name, &args, 2)?;
            let mut sum = 0i64;
            for a in &args {
                let f = a
                    .as_f64()
                    .ok_or_else(|| fail(name, format!("expected a number but got {a}")))?;
                // Java's Math.round: half-up, which AWS applies to each operand.
                sum += (f + 0.5).floor() as i64;
            }
            Ok(Value::from(sum))
        }
        "StringSplit" => {
            arity(name, &args, 2)?;
            let s = str_arg(name, &args[0])?;
            let delims: Vec<char> = str_arg(name, &args[1])?.chars().collect();
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        "UUID" => {
            arity(name, &args, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        other => Err(fail(other, "unknown intrinsic function")),
    }
}

/// JSON equality where `1 == 1.0`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn hash(alg: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    let bytes: Vec<u8> = match alg {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
