//! Parameter mapping of non-proxy integrations, as API Gateway writes it:
//! `integration.request.header.X = method.request.querystring.y` on the way in and
//! `method.response.header.X = integration.response.header.Y` on the way out, with
//! `'static'` values, bodies (whole or by JSONPath), `context.*` and `stageVariables.*`.
//! Expressions are parsed at config load; evaluating one never fails, it finds a value or
//! nothing (and an absent value leaves the parameter out, as AWS does).

use http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::mock::TemplateRequest;

/// Which side of the integration an expression is read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Request parameters: values from the method request.
    Request,
    /// Response parameters: values from the integration response.
    Response,
}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `'text'`: the text itself.
    Static(String),
    /// `method.request.path.NAME`
    MethodPath(String),
    /// `method.request.querystring.NAME`
    MethodQuery(String),
    /// `method.request.header.NAME`
    MethodHeader(String),
    /// `method.request.body` (`None`) or `method.request.body.JSONPATH`.
    MethodBody(Option<String>),
    /// `integration.response.header.NAME`
    IntegrationHeader(String),
    /// `integration.response.body` (`None`) or `integration.response.body.JSONPATH`.
    IntegrationBody(Option<String>),
    /// `context.a.b`: a `$context` variable.
    Context(Vec<String>),
    /// `stageVariables.NAME`
    StageVariable(String),
}

impl Source {
    /// Parses a mapping expression allowed on `side`; the message says what is allowed.
    pub fn parse(text: &str, side: Side) -> Result<Source, String> {
        let text = text.trim();
        if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            if text.len() >= 2 {
                return Ok(Source::Static(inner.to_owned()));
            }
        }
        let named = |rest: &str| -> Result<String, String> {
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                Err(format!("`{text}` needs a parameter name"))
            } else {
                Ok(rest.to_owned())
            }
        };
        let body_path = |rest: Option<&str>| -> Result<Option<String>, String> {
            match rest {
                None => Ok(None),
                Some(p) => {
                    let path = format!("$.{p}");
                    crate::vtl::json_path(&Value::Null, &path)
                        .map_err(|e| format!("`{text}`: {e}"))?;
                    Ok(Some(path))
                }
            }
        };
        let source = match side {
            Side::Request => {
                if let Some(rest) = text.strip_prefix("method.request.path.") {
                    Source::MethodPath(named(rest)?)
                } else if let Some(rest) = text.strip_prefix("method.request.querystring.") {
                    Source::MethodQuery(named(rest)?)
                } else if let Some(rest) = text.strip_prefix("method.request.header.") {
                    Source::MethodHeader(named(rest)?)
                } else if text == "method.request.body" {
                    Source::MethodBody(None)
                } else if let Some(rest) = text.strip_prefix("method.request.body.") {
                    Source::MethodBody(body_path(Some(rest))?)
                } else {
                    return common(text, named).ok_or_else(|| {
                        format!("`{text}` is not a request mapping value: use `method.request.{{path|querystring|header}}.NAME`, `method.request.body[.JSONPATH]`, `context.NAME`, `stageVariables.NAME` or a quoted `'static'` value")
                    })?;
                }
            }
            Side::Response => {
                if let Some(rest) = text.strip_prefix("integration.response.header.") {
                    Source::IntegrationHeader(named(rest)?)
                } else if text == "integration.response.body" {
                    Source::IntegrationBody(None)
                } else if let Some(rest) = text.strip_prefix("integration.response.body.") {
                    Source::IntegrationBody(body_path(Some(rest))?)
                } else {
                    return common(text, named).ok_or_else(|| {
                        format!("`{text}` is not a response mapping value: use `integration.response.header.NAME`, `integration.response.body[.JSONPATH]`, `context.NAME`, `stageVariables.NAME` or a quoted `'static'` value")
                    })?;
                }
            }
        };
        Ok(source)
    }

    /// The value for one request; `None` when the source has none.
    pub(crate) fn evaluate(&self, scope: &Scope<'_>) -> Option<String> {
        let input = &scope.request.input;
        match self {
            Source::Static(s) => Some(s.clone()),
            Source::MethodPath(n) => input.path.get(n).cloned(),
            Source::MethodQuery(n) => input.querystring.get(n).cloned(),
            Source::MethodHeader(n) => input
                .header
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone()),
            Source::MethodBody(path) => from_body(input.body, path.as_deref()),
            Source::IntegrationHeader(n) => scope
                .integration
                .and_then(|(headers, _)| headers.get(n.as_str()))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Source::IntegrationBody(path) => scope
                .integration
                .and_then(|(_, body)| from_body(body, path.as_deref())),
            Source::Context(path) => {
                let mut value = &scope.request.context;
                for step in path {
                    value = value.get(step.as_str())?;
                }
                text(value)
            }
            Source::StageVariable(n) => scope.request.stage_variables.get(n).and_then(text),
        }
    }
}

/// `context.*`, `stageVariables.*`: allowed on both sides.
fn common(
    text: &str,
    named: impl Fn(&str) -> Result<String, String>,
) -> Option<Result<Source, String>> {
    if let Some(rest) = text.strip_prefix("context.") {
        return Some(
            named(rest).map(|r| Source::Context(r.split('.').map(str::to_owned).collect())),
        );
    }
    text.strip_prefix("stageVariables.")
        .map(|rest| named(rest).map(Source::StageVariable))
}

/// What expressions are evaluated against.
pub(crate) struct Scope<'a> {
    /// The method request (its parameters, body, `$context`, stage variables).
    pub request: &'a TemplateRequest<'a>,
    /// The integration response's headers and body, on the response side.
    pub integration: Option<(&'a HeaderMap, &'a str)>,
}

fn from_body(body: &str, path: Option<&str>) -> Option<String> {
    let Some(path) = path else {
        return Some(body.to_owned());
    };
    let root: Value = serde_json::from_str(body).ok()?;
    text(&crate::vtl::json_path(&root, path).ok()?)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Where a request parameter goes on the integration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestTarget {
    /// `integration.request.header.NAME`
    Header(HeaderName),
    /// `integration.request.querystring.NAME`
    Query(String),
    /// `integration.request.path.NAME`: fills `{NAME}` in the upstream URL.
    Path(String),
}

impl RequestTarget {
    /// Parses `integration.request.{header|querystring|path}.NAME`.
    pub fn parse(text: &str) -> Result<RequestTarget, String> {
        let bad = || {
            format!("`{text}` is not a request parameter: use `integration.request.header.NAME`, `integration.request.querystring.NAME` or `integration.request.path.NAME`")
        };
        if let Some(name) = text.strip_prefix("integration.request.header.") {
            return header_name(text, name).map(RequestTarget::Header);
        }
        let (name, target): (&str, fn(String) -> RequestTarget) =
            if let Some(name) = text.strip_prefix("integration.request.querystring.") {
                (name, RequestTarget::Query)
            } else if let Some(name) = text.strip_prefix("integration.request.path.") {
                (name, RequestTarget::Path)
            } else {
                return Err(bad());
            };
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '.') {
            return Err(bad());
        }
        Ok(target(name.to_owned()))
    }
}

/// Parses `method.response.header.NAME`, the only response parameter target.
pub fn response_header(text: &str) -> Result<HeaderName, String> {
    let name = text
        .strip_prefix("method.response.header.")
        .ok_or_else(|| {
            format!("`{text}` is not a response parameter: use `method.response.header.NAME`")
        })?;
    header_name(text, name)
}

/// Headers that frame the message or belong to one connection: the gateway sets them.
const RESERVED: [&str; 9] = [
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn header_name(text: &str, name: &str) -> Result<HeaderName, String> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{text}`: `{name}` is not a header name"))?;
    if RESERVED.contains(&header.as_str()) {
        return Err(format!(
            "`{text}`: `{name}` is set by the gateway and cannot be mapped"
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_aws_accepts_on_each_side() {
        assert_eq!(
            Source::parse("method.request.querystring.q", Side::Request),
            Ok(Source::MethodQuery("q".into()))
        );
        assert_eq!(
            Source::parse("'text/plain'", Side::Response),
            Ok(Source::Static("text/plain".into()))
        );
        assert_eq!(
            Source::parse("integration.response.body.errorType", Side::Response),
            Ok(Source::IntegrationBody(Some("$.errorType".into())))
        );
        assert!(Source::parse("integration.response.header.x", Side::Request).is_err());
        assert!(Source::parse("method.request.header.x", Side::Response).is_err());
        assert!(Source::parse("method.request.path.", Side::Request).is_err());
        assert!(Source::parse("method.request.body.a[", Side::Request).is_err());
        assert!(RequestTarget::parse("integration.request.header.bad name").is_err());
        assert!(RequestTarget::parse("integration.response.header.x").is_err());
        assert!(response_header("method.response.header.X-Id").is_ok());
        assert!(response_header("method.request.header.X-Id").is_err());
        assert!(response_header("method.response.header.Content-Length").is_err());
        assert!(RequestTarget::parse("integration.request.header.host").is_err());
    }
}
