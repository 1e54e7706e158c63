//! HTTP proxy integrations (`http = "http://${stageVariables.backend}/items/{id}"`): the
//! request goes to the upstream with path parameters and stage variables substituted, and
//! the method, headers, query and body passed through, as API Gateway's HTTP_PROXY does.
//! Both bodies stream: the request body is forwarded under the body limit as it arrives and
//! the upstream's response body is handed to the client without being buffered.
//!
//! Answers: no response head within the integration timeout → 504 `Endpoint request timed
//! out`; upstream unreachable or failing → 502.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Limited;

use super::error::GatewayError;
use super::proxy_headers::{chain, copy_end_to_end, is_body_limit, remove_hop_by_hop};
use super::response::ProxyResponse;
use super::upstream_pool::{UpstreamError, UpstreamPool};
use crate::clock::Clock;

/// Named once: a header name given as text is parsed again on every use.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

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

/// What one forwarded request needs from the pipeline.
pub(crate) struct Forward<'a> {
    /// The request head.
    pub parts: &'a http::request::Parts,
    /// Raw path parameter values.
    pub params: &'a [(String, &'a str)],
    /// The stage's variables.
    pub variables: &'a std::collections::BTreeMap<String, String>,
    /// The caller's address, for `X-Forwarded-For`.
    pub remote: SocketAddr,
    /// The largest request body to forward.
    pub max_body_bytes: u64,
    /// `[server] integration_timeout`, unless the route sets its own.
    pub default_timeout: Duration,
}

/// Forwards one request; the returned body streams the upstream's response.
pub(crate) async fn forward<B>(
    target: &HttpTarget,
    clock: &Clock,
    fwd: Forward<'_>,
    body: B,
) -> Result<(ProxyResponse, Body), (GatewayError, String)>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut url = target.url(
        |name| fwd.params.iter().find(|(k, _)| k == name).map(|(_, v)| *v),
        fwd.variables,
    );
    // Split here rather than parsing the whole URL: the pool needs `host:port` as text and
    // the request line only the path (origin form). A stage variable may carry a path too.
    // One buffer holds both; the path's `Uri` shares it instead of copying it.
    let host_start = "http://".len();
    let path_start = url[host_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| host_start + i);
    if !url[path_start..].starts_with('/') {
        url.insert(path_start, '/');
    }
    if let Some(query) = fwd.parts.uri.query() {
        url.push(if url[path_start..].contains('?') {
            '&'
        } else {
            '?'
        });
        url.push_str(query);
    }
    let url = Bytes::from(url);
    let bad_path = |e: &dyn std::fmt::Display| {
        (
            GatewayError::BadGateway,
            format!("upstream path of `{}` is not valid: {e}", target.template),
        )
    };
    let authority = std::str::from_utf8(&url[host_start..path_start]).map_err(|e| bad_path(&e))?;
    let uri = Uri::from_maybe_shared(url.slice(path_start..)).map_err(|e| bad_path(&e))?;
    let mut req = Request::new(Body::new(Limited::new(body, fwd.max_body_bytes as usize)));
    *req.method_mut() = fwd.parts.method.clone();
    let headers = req.headers_mut();
    headers.reserve(fwd.parts.headers.len() + 2);
    copy_end_to_end(&fwd.parts.headers, headers);
    let client_ip = super::request::source_ip_text(fwd.remote.ip());
    let forwarded_for = match fwd
        .parts
        .headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
    {
        Some(prior) => format!("{prior}, {client_ip}"),
        None => client_ip,
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    *req.uri_mut() = uri;
    let timeout = target.timeout.unwrap_or(fwd.default_timeout);
    // Pinned where it is made: moved by value into the timeout, the exchange's future was
    // copied twice per request and this future's state held it three times over (and
    // front.rs moves this future into its box whole).
    let send = std::pin::pin!(target.pool.send(authority, req, clock));
    let response = match clock.timeout(timeout, send).await {
        Err(_) => {
            return Err((
                GatewayError::EndpointTimeout,
                format!("upstream gave no response within {timeout:?}"),
            ))
        }
        Ok(Err(e)) if is_body_limit(&*e) => {
            return Err((
                GatewayError::PayloadTooLarge,
                format!("body over {} bytes", fwd.max_body_bytes),
            ))
        }
        Ok(Err(e)) => {
            return Err((
                GatewayError::BadGateway,
                format!("upstream `{}` failed: {}", target.template, chain(&*e)),
            ))
        }
        Ok(Ok(response)) => response,
    };
    let (mut head, body) = response.into_parts();
    remove_hop_by_hop(&mut head.headers);
    Ok((
        ProxyResponse {
            status: head.status,
            headers: head.headers,
            body: Bytes::new(),
        },
        body,
    ))
}
