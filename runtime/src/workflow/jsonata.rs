//! JSONata evaluation for `QueryLanguage: "JSONata"` states, on top of the `jsonata-rs` crate.
//!
//! `jsonata-rs` covers the JSONata core (paths, operators, regexes, the standard library); the
//! functions AWS adds for Step Functions (`$partition`, `$range`, `$hash`, `$random`, `$parse`)
//! are registered here. The crate's evaluator is run under `catch_unwind` because it is a
//! young crate and a bad expression must fail the state, never the process.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::Value;

/// Returns the expression inside `{% ... %}` when `s` is a JSONata template string.
pub fn expression(s: &str) -> Option<&str> {
    let t = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(t.trim())
}

/// Evaluates `expr` with `$states` and the workflow variables bound.
///
/// `Ok(None)` means the expression returned nothing (undefined); `Err` carries the JSONata
/// error text.
pub fn evaluate(
    expr: &str,
    states: &Value,
    vars: &serde_json::Map<String, Value>,
) -> Result<Option<Value>, String> {
    let run = || -> Result<Option<Value>, String> {
        let arena = Bump::new();
        let jsonata = JsonAta::new(expr, &arena).map_err(|e| e.to_string())?;
        jsonata.register_function("partition", 2, fn_partition);
        jsonata.register_function("range", 3, fn_range);
        jsonata.register_function("hash", 2, fn_hash);
        jsonata.register_function("random", 1, fn_random);
        jsonata.register_function("parse", 1, fn_parse);
        let mut bindings: HashMap<&str, &Value> = HashMap::with_capacity(vars.len() + 1);
        for (k, v) in vars {
            bindings.insert(k.as_str(), v);
        }
        bindings.insert("states", states);
        let out = jsonata
            .evaluate(None, Some(&bindings))
            .map_err(|e| e.to_string())?;
        if out.is_undefined() {
            return Ok(None);
        }
        if out.is_function() {
            return Ok(None);
        }
        serde_json::from_str(&out.serialize(false))
            .map(Some)
            .map_err(|e| e.to_string())
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(format!(
            "the JSONata expression '{expr}' could not be evaluated"
        ))
    })
}

fn to_json<'a>(v: &'a JValue<'a>) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    serde_json::from_str(&v.serialize(false)).unwrap_or(Value::Null)
}

fn from_json<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(from_json(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, from_json(arena, x));
            }
            obj
        }
    }
}

fn call_intrinsic<'a>(
    ctx: &FunctionContext<'a, '_>,
    name: &str,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<Value> {
    let json_args: Vec<Value> = args.iter().map(|a| to_json(a)).collect();
    let call = format!(
        "States.{name}({})",
        json_args
            .iter()
            .map(|a| match a {
                Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
                other => format!(
                    "States.StringToJson('{}')",
                    other.to_string().replace('\'', "\\'")
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = ctx;
    super::intrinsics::Call::parse(&call)
        .map_err(jsonata_rs::Error::D3137Error)?
        .eval(&|_| Ok(Value::Null))
        .map_err(|e| jsonata_rs::Error::D3137Error(e.cause))
}

fn fn_partition<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let out = call_intrinsic(&ctx, "ArrayPartition", args)?;
    Ok(from_json(ctx.arena, &out))
}

fn fn_range<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let out = call_intrinsic(&ctx, "ArrayRange", args)?;
    // A JSONata sequence: a one-element result collapses to its item, as AWS returns it.
    let seq = JValue::array(ctx.arena, ArrayFlags::SEQUENCE);
    for x in out.as_array().into_iter().flatten() {
        seq.push(from_json(ctx.arena, x));
    }
    if seq.len() == 1 {
        return Ok(seq.get_member(0));
    }
    Ok(seq)
}

fn fn_hash<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let out = call_intrinsic(&ctx, "Hash", args)?;
    Ok(from_json(ctx.arena, &out))
}

fn fn_random<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    use rand::{Rng, SeedableRng};
    let seed = args.first().filter(|a| a.is_number()).map(|a| a.as_f64());
    let n: f64 = match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s as u64).gen(),
        None => rand::thread_rng().gen(),
    };
    Ok(JValue::number(ctx.arena, n))
}

fn fn_parse<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let s = args
        .first()
        .map(|a| a.as_str().into_owned())
        .unwrap_or_default();
    let v: Value =
        serde_json::from_str(&s).map_err(|e| jsonata_rs::Error::D3137Error(e.to_string()))?;
    Ok(from_json(ctx.arena, &v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_with_states_and_variables() {
        let states = json!({"input": {"values": [1, 2, 3]}});
        let mut vars = serde_json::Map::new();
        vars.insert("x".into(), json!(1));
        let out = evaluate("$sum($states.input.values) + $x", &states, &vars).unwrap();
        assert_eq!(out, Some(json!(7)));
        assert_eq!(evaluate("$nope", &states, &vars).unwrap(), None);
        assert_eq!(
            evaluate("$partition([1,2,3], 2)", &states, &vars).unwrap(),
            Some(json!([[1, 2], [3]]))
        );
        assert!(evaluate("1 +", &states, &vars).is_err());
    }
}
