//! Forwarding one request through an [`HttpTarget`]: the upstream URL, the end-to-end
//! headers with `X-Forwarded-For`, the exchange under the integration timeout, and the
//! upstream's head with its hop-by-hop headers removed.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderValue, Request, Uri};
use http_body_util::Limited;

use super::HttpTarget;
use crate::clock::Clock;
use crate::gateway::error::GatewayError;
use crate::gateway::proxy_headers::{chain, copy_end_to_end, is_body_limit, remove_hop_by_hop};
use crate::gateway::response::ProxyResponse;

/// Named once: a header name given as text is parsed again on every use.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

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
    let authority =
        std::str::from_utf8(&url[host_start..path_start]).map_err(|e| bad_path(target, &e))?;
    let uri = Uri::from_maybe_shared(url.slice(path_start..)).map_err(|e| bad_path(target, &e))?;
    let mut req = Request::new(Body::new(Limited::new(body, fwd.max_body_bytes as usize)));
    *req.method_mut() = fwd.parts.method.clone();
    let headers = req.headers_mut();
    headers.reserve(fwd.parts.headers.len() + 2);
    // One pass over the caller's headers, which also finds its `X-Forwarded-For`.
    let prior = copy_end_to_end(&fwd.parts.headers, headers, &X_FORWARDED_FOR);
    let client_ip = crate::gateway::request::source_ip_text(fwd.remote.ip());
    let forwarded_for = match prior {
        // Only a caller that sent the header pays for the second lookup of all its lines.
        Some(_) => extended_forwarded_for(&fwd.parts.headers, &client_ip),
        None => client_ip.into_bytes(),
    };
    // From the text's own buffer: validated, not copied.
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(forwarded_for)) {
        headers.append(X_FORWARDED_FOR, v);
    }
    *req.uri_mut() = uri;
    let timeout = target.timeout.unwrap_or(fwd.default_timeout);
    // Pinned where it is made: moved by value into the timeout, the exchange's future was
    // copied twice per request and this future's state held it three times over (and
    // front.rs moves this future into its box whole).
    let send = std::pin::pin!(target.pool.send(authority, req, clock));
    let response = match clock.timeout(timeout, send).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(upstream_failed(target, fwd.max_body_bytes, &*e)),
        Err(_) => return Err(timed_out(timeout)),
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

/// One `X-Forwarded-For` value: every line the caller sent, in order, joined with `, ` (several
/// lines of a list header mean the same as one comma-joined line, RFC 9110 §5.3), then
/// `client_ip`. Empty lines are list elements a recipient ignores (RFC 9110 §5.6.1), so they
/// add no empty entry.
fn extended_forwarded_for(caller: &http::HeaderMap, client_ip: &str) -> Vec<u8> {
    let mut joined = Vec::with_capacity(64);
    for line in caller.get_all(X_FORWARDED_FOR) {
        let line = line.as_bytes().trim_ascii();
        if !line.is_empty() {
            joined.extend_from_slice(line);
            joined.extend_from_slice(b", ");
        }
    }
    joined.extend_from_slice(client_ip.as_bytes());
    joined
}

// The failures below are out of line (and marked cold) so that their formatting code does
// not sit among the hot path's instructions.

#[cold]
#[inline(never)]
fn bad_path(target: &HttpTarget, e: &dyn std::fmt::Display) -> (GatewayError, String) {
    (
        GatewayError::BadGateway,
        format!("upstream path of `{}` is not valid: {e}", target.template),
    )
}

#[cold]
#[inline(never)]
fn timed_out(timeout: Duration) -> (GatewayError, String) {
    (
        GatewayError::EndpointTimeout,
        format!("upstream gave no response within {timeout:?}"),
    )
}

#[cold]
#[inline(never)]
fn upstream_failed(
    target: &HttpTarget,
    max_body_bytes: u64,
    e: &(dyn std::error::Error + 'static),
) -> (GatewayError, String) {
    if is_body_limit(e) {
        (
            GatewayError::PayloadTooLarge,
            format!("body over {max_body_bytes} bytes"),
        )
    } else {
        (
            GatewayError::BadGateway,
            format!("upstream `{}` failed: {}", target.template, chain(e)),
        )
    }
}
