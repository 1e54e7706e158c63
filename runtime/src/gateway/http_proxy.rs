//! HTTP proxy integrations (`http = "http://${stageVariables.backend}/items/{id}"`): the
//! request goes to the upstream with path parameters and stage variables substituted, and
//! the method, headers, query and body passed through, as API Gateway's HTTP_PROXY does.
//! Both bodies stream: the request body is forwarded under the body limit as it arrives and
//! the upstream's response body is handed to the client without being buffered.
//!
//! Answers: no response head within the integration timeout → 504 `Endpoint request timed
//! out`; upstream unreachable or failing → 502.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, Uri};

use super::upstream_pool::{UpstreamError, UpstreamPool};
use crate::clock::Clock;

#[path = "http_proxy_forward.rs"]
mod forward;
pub(crate) use forward::{forward, Forward};

/// One piece of an upstream URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriPart {
    /// Copied as written.
    Literal(String),
    /// `{name}` (or `{name+}`): the raw value of the route's path parameter.
    PathParam(String),
    /// `${stageVariables.name}`: the stage's variable.
    StageVariable(String),
}

/// A validated HTTP proxy target.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// The URL template as written, for messages.
    pub template: String,
    /// The template, parsed.
    pub parts: Vec<UriPart>,
    /// This route's integration timeout, replacing `[server] integration_timeout`.
    pub timeout: Option<Duration>,
    /// The route's keep-alive connections to its upstreams.
    pool: Arc<UpstreamPool>,
}

impl PartialEq for HttpTarget {
    fn eq(&self, other: &Self) -> bool {
        self.template == other.template && self.timeout == other.timeout
    }
}
impl Eq for HttpTarget {}

impl HttpTarget {
    /// Parses `http://host[:port]/path` with `{param}` and `${stageVariables.name}`
    /// placeholders; the message says what is wrong with a bad template.
    pub fn parse(template: &str, timeout: Option<Duration>) -> Result<HttpTarget, String> {
        if !template.starts_with("http://") {
            return Err(format!(
                "`{template}`: an HTTP integration URL must start with http://"
            ));
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '$']) {
            literal.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`{template}`: `${{` is not closed"))?;
                let name = after[..end]
                    .strip_prefix("stageVariables.")
                    .filter(|n| is_name(n))
                    .ok_or_else(|| {
                        format!(
                            "`{template}`: `${{{}}}` must be `${{stageVariables.NAME}}`",
                            &after[..end]
                        )
                    })?;
                flush(&mut literal, &mut parts);
                parts.push(UriPart::StageVariable(name.to_owned()));
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`{template}`: `{{` is not closed"))?;
                let name = after[..end].trim_end_matches('+');
                if !is_name(name) {
                    return Err(format!(
                        "`{template}`: `{{{}}}` is not a path parameter",
                        &after[..end]
                    ));
                }
                flush(&mut literal, &mut parts);
                parts.push(UriPart::PathParam(name.to_owned()));
                rest = &after[end + 1..];
            } else {
                literal.push('$');
                rest = &rest[1..];
            }
        }
        literal.push_str(rest);
        flush(&mut literal, &mut parts);
        // Checked with placeholders filled by a stand-in, so a bad host is a load-time error.
        let sample: String = parts
            .iter()
            .map(|p| match p {
                UriPart::Literal(s) => s.as_str(),
                _ => "x",
            })
            .collect();
        let uri: Uri = sample
            .parse()
            .map_err(|e| format!("`{template}` is not a valid URL: {e}"))?;
        if uri.host().is_none() {
            return Err(format!("`{template}` has no host"));
        }
        Ok(HttpTarget {
            template: template.to_owned(),
            parts,
            timeout,
            pool: Arc::default(),
        })
    }

    /// The upstream URL for one request, without its query: `param` gives the raw value of
    /// each `{name}`.
    pub(crate) fn url<'p>(
        &self,
        param: impl Fn(&str) -> Option<&'p str>,
        variables: &std::collections::BTreeMap<String, String>,
    ) -> String {
        let mut url = String::with_capacity(self.template.len() + 32);
        for part in &self.parts {
            match part {
                UriPart::Literal(s) => url.push_str(s),
                UriPart::PathParam(name) => url.push_str(param(name).unwrap_or("")),
                // Validated at load: every stage has every variable the template names.
                UriPart::StageVariable(name) => {
                    url.push_str(variables.get(name).map_or("", String::as_str))
                }
            }
        }
        url
    }

    /// Sends a request with an absolute upstream URI on one of the route's keep-alive
    /// connections, with `Host` set from the URI unless the request has one.
    pub(crate) async fn send(
        &self,
        mut req: Request<Body>,
        clock: &Clock,
    ) -> Result<Response<Body>, UpstreamError> {
        let uri = std::mem::take(req.uri_mut());
        let authority = uri
            .authority()
            .ok_or_else(|| format!("upstream URL `{uri}` has no host"))?;
        // HTTP/1 origin form: the request line carries the path and query only.
        *req.uri_mut() = uri
            .path_and_query()
            .cloned()
            .map_or_else(Uri::default, Uri::from);
        self.pool.send(authority.as_str(), req, clock).await
    }

    /// Path parameters the template uses.
    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            UriPart::PathParam(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Stage variables the template uses.
    pub fn stage_variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            UriPart::StageVariable(n) => Some(n.as_str()),
            _ => None,
        })
    }
}

fn is_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn flush(literal: &mut String, parts: &mut Vec<UriPart>) {
    if !literal.is_empty() {
        parts.push(UriPart::Literal(std::mem::take(literal)));
    }
}
