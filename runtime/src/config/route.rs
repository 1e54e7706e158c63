//! Route keys as API Gateway writes them: `GET /pets/{id}`, `ANY /files/{proxy+}`, `$default`.

use std::fmt;

/// One segment of a route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// `{name}`: matches one non-empty segment.
    Param(String),
    /// `{name+}`: matches the rest of the path (one or more segments); only last.
    Greedy(String),
}

/// A parsed route key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKey {
    /// `None` for `ANY`.
    pub method: Option<http::Method>,
    /// `None` for `$default`.
    pub path: Option<Vec<Segment>>,
    /// The key as written, e.g. `GET /pets/{id}`.
    pub text: String,
    /// The path part as written, e.g. `/pets/{id}` (API Gateway's `resource`).
    pub resource: String,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RouteKey {
    /// Parses a route key, explaining what is wrong with a bad one.
    pub fn parse(text: &str) -> Result<RouteKey, String> {
        let text = text.trim();
        if text == "$default" {
            return Ok(RouteKey {
                method: None,
                path: None,
                text: text.to_owned(),
                resource: "$default".to_owned(),
            });
        }
        let Some((method, path)) = text.split_once(' ') else {
            return Err(format!(
                "route `{text}` must be `METHOD /path` or `$default`"
            ));
        };
        let method = match method {
            "ANY" => None,
            m if METHODS.contains(&m) => {
                Some(http::Method::from_bytes(m.as_bytes()).map_err(|e| e.to_string())?)
            }
            other => {
                return Err(format!(
                    "route `{text}`: unknown method `{other}` (use one of {}, or ANY)",
                    METHODS.join(", ")
                ))
            }
        };
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(format!("route `{text}`: the path must start with `/`"));
        }
        let mut segments = Vec::new();
        let parts: Vec<&str> = path[1..].split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                if parts.len() == 1 {
                    break; // the root path `/`
                }
                return Err(format!("route `{text}`: empty path segment"));
            }
            let segment = if let Some(inner) =
                part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
            {
                if let Some(name) = inner.strip_suffix('+') {
                    if i + 1 != parts.len() {
                        return Err(format!(
                            "route `{text}`: a greedy parameter `{{{name}+}}` must be the last segment"
                        ));
                    }
                    Segment::Greedy(check_name(text, name)?)
                } else {
                    Segment::Param(check_name(text, inner)?)
                }
            } else if part.contains('{') || part.contains('}') {
                return Err(format!(
                    "route `{text}`: a path parameter must be a whole segment, like `{{id}}`"
                ));
            } else {
                Segment::Literal((*part).to_owned())
            };
            segments.push(segment);
        }
        Ok(RouteKey {
            method,
            path: Some(segments),
            text: text.to_owned(),
            resource: path.to_owned(),
        })
    }
}

fn check_name(route: &str, name: &str) -> Result<String, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("route `{route}`: bad parameter name `{name}`"));
    }
    Ok(name.to_owned())
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_api_gateway_accepts() {
        let r = RouteKey::parse("GET /pets/{id}").unwrap();
        assert_eq!(r.method, Some(http::Method::GET));
        assert_eq!(
            r.path.unwrap(),
            vec![Segment::Literal("pets".into()), Segment::Param("id".into())]
        );
        let r = RouteKey::parse("ANY /echo/{proxy+}").unwrap();
        assert_eq!(r.method, None);
        assert_eq!(r.resource, "/echo/{proxy+}");
        assert!(RouteKey::parse("$default").unwrap().path.is_none());
        assert_eq!(RouteKey::parse("GET /").unwrap().path.unwrap(), vec![]);
    }

    #[test]
    fn rejects_bad_keys() {
        for bad in [
            "/pets",
            "FETCH /x",
            "GET pets",
            "GET /{proxy+}/x",
            "GET /a//b",
            "GET /x{id}",
            "GET /{}",
        ] {
            assert!(RouteKey::parse(bad).is_err(), "{bad}");
        }
    }
}
