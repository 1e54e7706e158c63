//! The HTTP backend of a non-proxy integration: the upstream request carries the mapped
//! body and only the mapped headers, query parameters and path parameters (API Gateway's
//! `HTTP` integration passes nothing else), and the whole answer is read within the
//! integration timeout, since response templates need all of it.

use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Limited};

use super::custom_integration::{Call, CustomIntegration, Failure};
use super::error::GatewayError;
use super::http_proxy::HttpTarget;
use super::mock::TemplateRequest;
use super::parameter_mapping::{RequestTarget, Scope};

/// Characters escaped in a mapped path parameter: all but RFC 3986's unreserved ones.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The upstream request: URL with path parameters, only the mapped query and headers.
pub(crate) fn upstream_request(
    integration: &CustomIntegration,
    target: &HttpTarget,
    call: &Call<'_>,
    request: &TemplateRequest<'_>,
    body: String,
    content_type: Option<HeaderValue>,
) -> Result<Request<Body>, Failure> {
    let scope = Scope {
        request,
        integration: None,
    };
    let mut paths: Vec<(&str, String)> = Vec::new();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers = HeaderMap::new();
    if let Some(v) = content_type {
        headers.insert(CONTENT_TYPE, v);
    }
    for (target, source) in &integration.request_parameters {
        let Some(value) = source.evaluate(&scope) else {
            continue;
        };
        match target {
            RequestTarget::Header(name) => {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name.clone(), v);
                }
            }
            RequestTarget::Query(name) => {
                query.append_pair(name, &value);
            }
            RequestTarget::Path(name) => paths.push((
                name,
                percent_encoding::utf8_percent_encode(&value, PATH_SEGMENT).to_string(),
            )),
        }
    }
    let mut url = target.url(
        |name| {
            paths
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| call.params.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
        },
        &call.mount.variables,
    );
    let query = query.finish();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query);
    }
    let uri: Uri = url.parse().map_err(|e| {
        (
            GatewayError::BadGateway,
            format!("upstream URL `{url}` is not valid: {e}"),
        )
    })?;
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = call.parts.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok(req)
}

/// Sends the request and reads the whole answer (templates need all of it) in time.
pub(crate) async fn send(
    target: &HttpTarget,
    call: &Call<'_>,
    req: Request<Body>,
) -> Result<(http::response::Parts, Bytes), Failure> {
    let timeout = target
        .timeout
        .unwrap_or(call.live.config.server.integration_timeout);
    let limit = call.live.config.server.max_body_bytes as usize;
    let started = Instant::now();
    let exchange = async {
        let response = target
            .send(req, &call.stack.clock)
            .await
            .map_err(|e| super::proxy_headers::chain(&*e))?;
        let (head, body) = response.into_parts();
        let body = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((head, body))
    };
    match call.stack.clock.timeout(timeout, exchange).await {
        Err(_) => Err((
            GatewayError::EndpointTimeout,
            format!("upstream gave no answer within {timeout:?}"),
        )),
        Ok(Err(e)) => Err((
            GatewayError::BadGateway,
            format!(
                "upstream `{}` failed after {:?}: {e}",
                target.template,
                started.elapsed()
            ),
        )),
        Ok(Ok(answer)) => Ok(answer),
    }
}
