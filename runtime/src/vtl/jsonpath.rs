//! The JSONPath subset `$input.path` and `$input.json` take: `$`, `.name`, `['name']`, `[n]`,
//! `[*]` and `.*` (which collect into a list).

use serde_json::Value;

/// Selects `path` in `root`; `Value::Null` when nothing matches.
pub(super) fn select(root: &Value, path: &str) -> Result<Value, String> {
    let rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| format!("JSONPath `{path}` must start with `$`"))?;
    let mut current = vec![root.clone()];
    let mut many = false;
    let mut rest = rest;
    while !rest.is_empty() {
        let step;
        if let Some(r) = rest.strip_prefix("[*]").or_else(|| rest.strip_prefix(".*")) {
            many = true;
            current = current
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(a) => a,
                    Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
                    _ => Vec::new(),
                })
                .collect();
            rest = r;
            continue;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            step = Step::Key(r[..end].to_owned());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("JSONPath `{path}`: `[` is not closed"))?;
            let inner = r[..end].trim();
            step = match inner.parse::<usize>() {
                Ok(n) => Step::Index(n),
                Err(_) => Step::Key(inner.trim_matches(['\'', '"']).to_owned()),
            };
            rest = &r[end + 1..];
        } else {
            return Err(format!("JSONPath `{path}`: unexpected `{rest}`"));
        }
        current = current
            .into_iter()
            .filter_map(|v| match &step {
                Step::Key(k) => v.get(k.as_str()).cloned(),
                Step::Index(i) => v.get(*i).cloned(),
            })
            .collect();
    }
    Ok(if many {
        Value::Array(current)
    } else {
        current.into_iter().next().unwrap_or(Value::Null)
    })
}

enum Step {
    Key(String),
    Index(usize),
}
