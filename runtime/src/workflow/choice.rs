//! Choice rules: parsing the JSONPath rule tree and evaluating it as AWS does.

use serde_json::Value;

use super::error::StateError;
use super::paths::Path;
use super::template::Env;
use super::timestamp;

/// A comparison operator (without the `Path` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `StringEquals`
    StringEquals,
    /// `StringLessThan`
    StringLessThan,
    /// `StringGreaterThan`
    StringGreaterThan,
    /// `StringLessThanEquals`
    StringLessThanEquals,
    /// `StringGreaterThanEquals`
    StringGreaterThanEquals,
    /// `StringMatches` (`*` wildcards)
    StringMatches,
    /// `NumericEquals`
    NumericEquals,
    /// `NumericLessThan`
    NumericLessThan,
    /// `NumericGreaterThan`
    NumericGreaterThan,
    /// `NumericLessThanEquals`
    NumericLessThanEquals,
    /// `NumericGreaterThanEquals`
    NumericGreaterThanEquals,
    /// `BooleanEquals`
    BooleanEquals,
    /// `TimestampEquals`
    TimestampEquals,
    /// `TimestampLessThan`
    TimestampLessThan,
    /// `TimestampGreaterThan`
    TimestampGreaterThan,
    /// `TimestampLessThanEquals`
    TimestampLessThanEquals,
    /// `TimestampGreaterThanEquals`
    TimestampGreaterThanEquals,
    /// `IsNull`
    IsNull,
    /// `IsPresent`
    IsPresent,
    /// `IsNumeric`
    IsNumeric,
    /// `IsString`
    IsString,
    /// `IsBoolean`
    IsBoolean,
    /// `IsTimestamp`
    IsTimestamp,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

/// Whether `key` names a comparison operator (with or without `Path`).
pub fn is_operator(key: &str) -> bool {
    let base = key.strip_suffix("Path").unwrap_or(key);
    OPS.iter().any(|(n, _)| *n == base)
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal.
    Lit(Value),
    /// A `...Path` operand.
    Path(Path),
}

/// A choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All must hold.
    And(Vec<Rule>),
    /// Any must hold.
    Or(Vec<Rule>),
    /// Must not hold.
    Not(Box<Rule>),
    /// `Variable` compared with an operand.
    Cmp {
        /// The value compared.
        var: Path,
        /// The operator.
        op: Op,
        /// The other side.
        operand: Operand,
    },
    /// A JSONata `Condition`.
    Condition(Value),
}

impl Rule {
    /// Parses a rule object (the `Next`/`Assign`/`Output` keys are ignored here).
    pub fn parse(v: &Value) -> Result<Rule, String> {
        let o = v.as_object().ok_or("a choice rule must be an object")?;
        if let Some(c) = o.get("Condition") {
            return Ok(Rule::Condition(c.clone()));
        }
        let list = |k: &str| -> Result<Vec<Rule>, String> {
            o.get(k)
                .and_then(Value::as_array)
                .ok_or(format!("'{k}' must be a non-empty array of rules"))?
                .iter()
                .map(Rule::parse)
                .collect()
        };
        if o.contains_key("And") {
            return list("And").map(Rule::And);
        }
        if o.contains_key("Or") {
            return list("Or").map(Rule::Or);
        }
        if let Some(n) = o.get("Not") {
            return Ok(Rule::Not(Box::new(Rule::parse(n)?)));
        }
        let var = o
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or("a comparison needs a 'Variable' string")?;
        let var = Path::parse(var).map_err(|e| e.to_string())?;
        for (k, x) in o {
            let (base, is_path) = match k.strip_suffix("Path") {
                Some(b) => (b, true),
                None => (k.as_str(), false),
            };
            let Some((_, op)) = OPS.iter().find(|(n, _)| *n == base) else {
                continue;
            };
            let operand = if is_path {
                let s = x.as_str().ok_or(format!("'{k}' must be a path string"))?;
                Operand::Path(Path::parse(s).map_err(|e| e.to_string())?)
            } else {
                Operand::Lit(x.clone())
            };
            return Ok(Rule::Cmp {
                var,
                op: *op,
                operand,
            });
        }
        Err("a choice rule needs a comparison operator".into())
    }

    /// Evaluates a JSONPath rule against `input`.
    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<bool, StateError> {
        match self {
            Rule::And(rs) => {
                for r in rs {
                    if !r.eval(input, env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for r in rs {
                    if r.eval(input, env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, env)?),
            Rule::Condition(_) => Err(StateError::runtime("Condition requires JSONata")),
            Rule::Cmp { var, op, operand } => {
                let value = env.resolve(var, input);
                if *op == Op::IsPresent {
                    let want = operand_bool(operand, input, env)?;
                    return Ok(value.is_some() == want);
                }
                let Some(value) = value else {
                    return Err(StateError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        var.text()
                    )));
                };
                let rhs = match operand {
                    Operand::Lit(v) => v.clone(),
                    Operand::Path(p) => env.require(p, input)?,
                };
                Ok(compare(*op, &value, &rhs))
            }
        }
    }
}

fn operand_bool(o: &Operand, input: &Value, env: &Env<'_>) -> Result<bool, StateError> {
    Ok(match o {
        Operand::Lit(v) => v.as_bool().unwrap_or(false),
        Operand::Path(p) => env.require(p, input)?.as_bool().unwrap_or(false),
    })
}

fn compare(op: Op, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering::{self, *};
    let ord = |o: Option<Ordering>, want: &[Ordering]| o.is_some_and(|o| want.contains(&o));
    let s = || a.as_str().zip(b.as_str()).map(|(x, y)| x.cmp(y));
    let n = || {
        a.as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
    };
    let t = || {
        let x = timestamp::parse(a.as_str()?)?;
        let y = timestamp::parse(b.as_str()?)?;
        Some(x.cmp(&y))
    };
    let flag = b.as_bool().unwrap_or(false);
    match op {
        Op::StringEquals => ord(s(), &[Equal]),
        Op::StringLessThan => ord(s(), &[Less]),
        Op::StringGreaterThan => ord(s(), &[Greater]),
        Op::StringLessThanEquals => ord(s(), &[Less, Equal]),
        Op::StringGreaterThanEquals => ord(s(), &[Greater, Equal]),
        Op::StringMatches => match (a.as_str(), b.as_str()) {
            (Some(x), Some(p)) => wildcard(x, p),
            _ => false,
        },
        Op::NumericEquals => ord(n(), &[Equal]),
        Op::NumericLessThan => ord(n(), &[Less]),
        Op::NumericGreaterThan => ord(n(), &[Greater]),
        Op::NumericLessThanEquals => ord(n(), &[Less, Equal]),
        Op::NumericGreaterThanEquals => ord(n(), &[Greater, Equal]),
        Op::BooleanEquals => a.as_bool().is_some() && a.as_bool() == b.as_bool(),
        Op::TimestampEquals => ord(t(), &[Equal]),
        Op::TimestampLessThan => ord(t(), &[Less]),
        Op::TimestampGreaterThan => ord(t(), &[Greater]),
        Op::TimestampLessThanEquals => ord(t(), &[Less, Equal]),
        Op::TimestampGreaterThanEquals => ord(t(), &[Greater, Equal]),
        Op::IsNull => a.is_null() == flag,
        Op::IsPresent => flag,
        Op::IsNumeric => a.is_number() == flag,
        Op::IsString => a.is_string() == flag,
        Op::IsBoolean => a.is_boolean() == flag,
        Op::IsTimestamp => a.as_str().and_then(timestamp::parse).is_some() == flag,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are escapes.
fn wildcard(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.extend(it.next().map(Tok::Ch)),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Classic two-pointer glob match with backtracking to the last star.
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while i < chars.len() {
        if j < toks.len() && toks[j] == Tok::Ch(chars[i]) {
            i += 1;
            j += 1;
        } else if j < toks.len() && toks[j] == Tok::Star {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(sj) = star {
            j = sj + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    toks[j..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_comparisons() {
        let vars = serde_json::Map::new();
        let ctx = json!({});
        let env = Env {
            context: &ctx,
            vars: &vars,
        };
        let input = json!({"n": 5, "s": "abc", "t": "2016-03-14T01:59:00Z"});
        let r = |v: Value| Rule::parse(&v).unwrap().eval(&input, &env).unwrap();
        assert!(r(json!({"Variable": "$.n", "NumericGreaterThan": 4})));
        assert!(r(json!({"Variable": "$.s", "StringMatches": "a*c"})));
        assert!(r(json!({"Variable": "$.x", "IsPresent": false})));
        assert!(r(
            json!({"Variable": "$.t", "TimestampLessThan": "2016-03-14T02:00:00Z"})
        ));
        assert!(r(json!({"Not": {"Variable": "$.n", "NumericEquals": 1}})));
        let bad = Rule::parse(&json!({"Variable": "$.x", "NumericEquals": 1})).unwrap();
        assert_eq!(bad.eval(&input, &env).unwrap_err().error, "States.Runtime");
    }
}
