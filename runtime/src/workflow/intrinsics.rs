//! `States.*` intrinsic functions: parser and evaluator.
//!
//! Hand-written because the grammar is ASL-specific (single-quoted strings with `\'`, `\{`
//! escapes, JSONPath arguments, nesting) and no maintained crate implements it.

use serde_json::Value;

use super::error::StateError;
use super::paths::Path;

mod functions;

use functions::apply;

/// A parsed intrinsic call such as `States.Format('{}', $.name)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name without the `States.` prefix.
    pub name: String,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Lit(Value),
    Path(Path),
    Call(Call),
}

const FUNCTIONS: &[&str] = &[
    "Format",
    "StringToJson",
    "JsonToString",
    "Array",
    "ArrayPartition",
    "ArrayContains",
    "ArrayRange",
    "ArrayGetItem",
    "ArrayLength",
    "ArrayUnique",
    "Base64Encode",
    "Base64Decode",
    "Hash",
    "JsonMerge",
    "MathRandom",
    "MathAdd",
    "StringSplit",
    "UUID",
];

impl Call {
    /// Parses an intrinsic expression; errors describe the problem.
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = Parser {
            s: text.trim(),
            i: 0,
        };
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!(
                "unexpected text after intrinsic: '{}'",
                &p.s[p.i..]
            ));
        }
        Ok(call)
    }

    /// Evaluates the call; `resolve` looks up path arguments.
    pub fn eval(
        &self,
        resolve: &dyn Fn(&Path) -> Result<Value, StateError>,
    ) -> Result<Value, StateError> {
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(match a {
                Arg::Lit(v) => v.clone(),
                Arg::Path(p) => resolve(p)?,
                Arg::Call(c) => c.eval(resolve)?,
            });
        }
        apply(&self.name, args)
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let rest = &self.s[self.i..];
        let rest = rest
            .strip_prefix("States.")
            .ok_or_else(|| format!("expected 'States.' at '{rest}'"))?;
        let end = rest.find('(').ok_or("expected '(' after function name")?;
        let name = rest[..end].trim().to_string();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!("unknown intrinsic function 'States.{name}'"));
        }
        self.i += "States.".len() + end + 1;
        let mut args = Vec::new();
        self.ws();
        if self.s[self.i..].starts_with(')') {
            self.i += 1;
            return Ok(Call { name, args });
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.s[self.i..].chars().next() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err("expected ',' or ')' in intrinsic arguments".into()),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        let rest = &self.s[self.i..];
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        if rest.starts_with('\'') {
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1);
            while let Some((j, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            match n {
                                '\'' | '{' | '}' | '\\' => {
                                    if n == '{' || n == '}' {
                                        out.push('\\');
                                    }
                                    out.push(n)
                                }
                                'n' => out.push('\n'),
                                other => {
                                    out.push('\\');
                                    out.push(other)
                                }
                            }
                        }
                    }
                    '\'' => {
                        self.i += j + 1;
                        return Ok(Arg::Lit(Value::String(out)));
                    }
                    c => out.push(c),
                }
            }
            return Err("unterminated string literal".into());
        }
        let end = scan_arg_end(rest);
        let tok = rest[..end].trim();
        self.i += end;
        if tok.starts_with('$') {
            return Path::parse(tok).map(Arg::Path).map_err(|e| e.to_string());
        }
        serde_json::from_str::<Value>(tok)
            .ok()
            .filter(|v| !v.is_object() && !v.is_array() && !v.is_string())
            .map(Arg::Lit)
            .ok_or_else(|| format!("invalid intrinsic argument '{tok}'"))
    }
}

fn scan_arg_end(s: &str) -> usize {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']') => depth -= 1,
            (None, ')') if depth == 0 => return i,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, StateError> {
        let call = Call::parse(expr).map_err(StateError::intrinsic)?;
        call.eval(&|p: &Path| {
            p.select(&input)
                .ok_or_else(|| StateError::runtime("no path"))
        })
    }

    #[test]
    fn evaluates_common_functions() {
        let r = run("States.Format('a {} b {}', $.x, 'y')", json!({"x": 1})).unwrap();
        assert_eq!(r, json!("a 1 b y"));
        let r = run("States.MathAdd($.a, -1)", json!({"a": 3})).unwrap();
        assert_eq!(r, json!(2));
        let r = run("States.ArrayPartition(States.Array(1,2,3), 2)", json!({})).unwrap();
        assert_eq!(r, json!([[1, 2], [3]]));
        let r = run("States.Hash('input data', 'MD5')", json!({})).unwrap();
        assert_eq!(r, json!("812f45842bc6d66ee14572ce20db8e86"));
    }

    #[test]
    fn bad_intrinsics_fail_cleanly() {
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.Format('x'").is_err());
        let e = run("States.ArrayGetItem(States.Array(1), 5)", json!({})).unwrap_err();
        assert_eq!(e.error, "States.IntrinsicFailure");
    }
}
