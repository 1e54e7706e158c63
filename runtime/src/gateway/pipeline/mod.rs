//! The request pipeline, in API Gateway's order. Each stage says why it sits where it does.
//!
//! 1. ids: request id and `X-Amzn-Trace-Id` first, so every later error and log line has them.
//! 2. size limit: before reading the body, so an oversized upload costs nothing.
//! 3. route match: API → stage → route; unknown routes get 404 / 403 as AWS answers.
//! 4. front door (runtime/src/auth): CORS preflights answered here, without the function;
//!    then the resource policy (source IP) and the route's authorizer (JWT or Lambda), so
//!    refused callers never touch throttles, quotas, the body or the integration.
//!    Then admission: API key, then account → stage/route → usage-plan throttles, then the quota
//!    (after route match and the authorizer, before the body is read or anything invoked).
//! 5. body: read within the limit once the route is known to be allowed — except on IAM
//!    routes, which read it just before the authorizer because the SigV4 signature covers it.
//! 6. cache: the stage's response cache answers, or the integration fills it (one call for
//!    concurrent misses of a key); unauthorized `Cache-Control: max-age=0` may get 403 here.
//! 7. integration: build the proxy event and invoke the function under the integration timeout.
//! 8. response mapping: the proxy response, or a gateway error; then the access log.
//!
//! Where each stage lives: 1–2 and the order of everything here; 3–5 and the dispatch to the
//! integration in `front`; the body in `body`; 6–7 for functions in `function`, for the other
//! integrations in `targets`; 8 in `finish` (the response) and `records` (trace, metrics, logs).

mod body;
mod finish;
mod front;
mod function;
mod records;
mod targets;

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, Request, Response};

use super::error::GatewayError;
use super::response::ProxyResponse;
use super::router::Routed;
use crate::cache::CacheStatus;
use crate::config::ApiKind;
use crate::lifecycle::live::Live;
use crate::observe::ids;
use crate::observe::traces::TraceBuilder;
use crate::stack::StackInner;

/// The log group access-log lines go to.
pub const ACCESS_LOG_GROUP: &str = "/aws/apigateway/access-logs";

// A constant, so the name is not parsed and validated again on every request.
const TRACE_HEADER: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// A gateway error with its detail for the logs (never sent to the client).
type Failure = (GatewayError, String);
/// What the stages answer: a response, or a gateway error.
type Outcome = Result<ProxyResponse, Failure>;

/// What every stage reads about the request: fixed once it is routed.
struct Exchange<'a> {
    stack: &'a StackInner,
    /// The generation this request runs on to its end.
    live: &'a Live,
    parts: &'a Parts,
    remote: SocketAddr,
    request_id: &'a str,
    trace_id: &'a str,
    time_epoch_ms: u64,
    /// Whether the request's trace is recorded.
    tracing: bool,
}

impl Exchange<'_> {
    /// The raw request path.
    fn path(&self) -> &str {
        self.parts.uri.path()
    }
}

/// What the stages find out on the way, for the response, the metrics and the logs.
struct Progress {
    /// The matched route key (`-` until one matches).
    route_key: &'static str,
    /// The matched resource (`-` until a route matches).
    resource_path: &'static str,
    integration_us: Option<u64>,
    cache_status: Option<CacheStatus>,
    /// An HTTP proxy's response body, streamed through instead of collected.
    streamed: Option<Body>,
    trace: TraceBuilder,
}

/// Runs one gateway request through every stage.
pub(crate) async fn handle<B>(
    stack: &StackInner,
    req: Request<B>,
    remote: SocketAddr,
) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    let started = Instant::now();
    // Read once: a reload or deployment swapping the state mid-request leaves this one as is.
    let live = stack.live();
    let time_epoch_ms = stack.clock.now_millis();
    let (parts, body) = req.into_parts();
    let trace_id = match parts
        .headers
        .get(&TRACE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => ids::trace_id(time_epoch_ms / 1000),
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let routed = live.route(&parts.method, host, parts.uri.path());
    let (kind, route_metrics) = match &routed {
        Routed::Route { mount, metrics, .. } => (mount.kind, Some(*metrics)),
        Routed::NoRoute(mount) => (mount.kind, Some(&mount.unmatched_metrics)),
        Routed::NoApi | Routed::NoMapping => (ApiKind::Rest, None),
    };
    let request_id = match kind {
        ApiKind::Http => ids::http_api_request_id(),
        ApiKind::Rest => ids::uuid(),
    };
    let routed_mount = match &routed {
        Routed::Route { mount, .. } | Routed::NoRoute(mount) => Some(*mount),
        Routed::NoApi | Routed::NoMapping => None,
    };
    let stage_logs = routed_mount.map(|m| &*m.logs);
    let cors = routed_mount.and_then(|m| m.auth.cors());
    let exchange = Exchange {
        stack,
        live: &live,
        parts: &parts,
        remote,
        request_id: &request_id,
        trace_id: &trace_id,
        time_epoch_ms,
        tracing: live.config.logs.traces,
    };
    let mut progress = Progress {
        // The access record's spelling when no route matched.
        route_key: "-",
        resource_path: "-",
        integration_us: None,
        cache_status: None,
        streamed: None,
        trace: TraceBuilder::new(started),
    };
    let outcome = front::run(&exchange, &mut progress, routed, cors, kind, body).await;
    let streamed = progress.streamed.take();
    let finished = finish::respond(&exchange, outcome, streamed, routed_mount, cors, kind);
    let response = finished.response;
    let summary = records::Summary {
        // One clock read serves the metrics and the access log; none when both are off.
        elapsed: if live.config.logs.metrics || live.config.logs.access_log {
            started.elapsed()
        } else {
            std::time::Duration::ZERO
        },
        time_epoch_ms,
        status: response.status().as_u16(),
        response_length: http_body::Body::size_hint(response.body())
            .exact()
            .unwrap_or(0),
        route_key: progress.route_key,
        resource_path: progress.resource_path,
        integration_us: progress.integration_us,
        cache_status: progress.cache_status,
        error_message: finished.error_message,
        error_type: finished.error_type,
        stage_logs,
    };
    if exchange.tracing {
        records::trace(
            stack,
            progress.trace,
            (&trace_id, &request_id),
            &summary,
            &parts,
        );
    }
    if let Some(metrics) = route_metrics.filter(|_| live.config.logs.metrics) {
        records::metrics(stack, metrics, &summary);
    }
    records::execution(stack, &summary, &request_id, &parts);
    if live.config.logs.access_log {
        records::access(stack, summary, (trace_id, request_id), remote.ip(), &parts);
    }
    response
}
