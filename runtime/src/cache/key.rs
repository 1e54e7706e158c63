//! Cache keys: method, resource path and only the configured request parameters.

use std::cell::RefCell;
use std::sync::Arc;

use http::{HeaderMap, Method};

use super::error::CacheError;

/// A cache key. Two requests share an entry exactly when their keys are equal. Shared text,
/// so a route's fixed key is handed to each request without a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(Arc<str>);

impl CacheKey {
    /// The key's length in bytes, charged to the cache's capacity.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The key's text, as the shared level stores it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty (never, for keys built by [`CacheKeySpec`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Which request parameters split cache entries, parsed from API Gateway's
/// `method.request.{path|querystring|header}.NAME` spelling. Names are kept sorted so the
/// key does not depend on the order they were configured or sent in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheKeySpec {
    path: Vec<String>,
    query: Vec<String>,
    headers: Vec<String>,
}

impl CacheKeySpec {
    /// Parses the configured cache key parameters.
    pub fn parse<S: AsRef<str>>(parameters: &[S], path: &str) -> Result<Self, Vec<CacheError>> {
        let mut spec = CacheKeySpec::default();
        let mut errors = Vec::new();
        for (i, parameter) in parameters.iter().enumerate() {
            let parameter = parameter.as_ref();
            let parsed = parameter
                .strip_prefix("method.request.")
                .and_then(|rest| rest.split_once('.'))
                .filter(|(_, name)| !name.is_empty());
            match parsed {
                Some(("path", name)) => spec.path.push(name.to_owned()),
                Some(("querystring", name)) => spec.query.push(name.to_owned()),
                Some(("header", name)) => spec.headers.push(name.to_ascii_lowercase()),
                _ => errors.push(CacheError::BadKeyParameter {
                    path: format!("{path}[{i}]"),
                    parameter: parameter.to_owned(),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for names in [&mut spec.path, &mut spec.query, &mut spec.headers] {
            names.sort();
            names.dedup();
        }
        Ok(spec)
    }

    /// Whether path parameters are part of the key.
    pub fn uses_path(&self) -> bool {
        !self.path.is_empty()
    }

    /// Whether query string parameters are part of the key.
    pub fn uses_query(&self) -> bool {
        !self.query.is_empty()
    }

    /// Whether no request parameter is part of the key: every request with the same method
    /// and resource path has the same key.
    pub fn is_fixed(&self) -> bool {
        self.path.is_empty() && self.query.is_empty() && self.headers.is_empty()
    }

    /// The key for a request. `path_params` and `query` are decoded name/value pairs;
    /// parameters that are not configured are ignored, and repeated query values are
    /// sorted so their order does not split entries.
    pub fn key(
        &self,
        method: &Method,
        resource_path: &str,
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        headers: &HeaderMap,
    ) -> CacheKey {
        // Built in a reused per-thread buffer, then copied once into the key's own text.
        KEY_BUFFER.with_borrow_mut(|out| {
            out.clear();
            self.write_key(out, method, resource_path, path_params, query, headers);
            CacheKey(Arc::from(out.as_str()))
        })
    }

    fn write_key(
        &self,
        out: &mut String,
        method: &Method,
        resource_path: &str,
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        headers: &HeaderMap,
    ) {
        push(out, method.as_str());
        push(out, resource_path);
        let mut values: Vec<&str> = Vec::new();
        for name in &self.path {
            out.push('p');
            push(out, name);
            let value = path_params.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            push(out, value.unwrap_or(""));
        }
        for name in &self.query {
            values.clear();
            values.extend(query.iter().filter(|(n, _)| n == name).map(|(_, v)| *v));
            values.sort_unstable();
            out.push('q');
            push(out, name);
            push_all(out, &values);
        }
        for name in &self.headers {
            values.clear();
            values.extend(
                headers
                    .get_all(name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            values.sort_unstable();
            out.push('h');
            push(out, name);
            push_all(out, &values);
        }
    }
}

thread_local! {
    static KEY_BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

// Length-prefixed parts, so no value can forge another key's layout.
fn push(out: &mut String, part: &str) {
    push_len(out, part.len());
    out.push(':');
    out.push_str(part);
}

fn push_all(out: &mut String, values: &[&str]) {
    push_len(out, values.len());
    out.push('#');
    for value in values {
        push(out, value);
    }
}

// Decimal digits without the formatting machinery: this runs for every cached request.
fn push_len(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}
