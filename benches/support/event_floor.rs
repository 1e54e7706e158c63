//! The event floor: a bare hyper server that does only the work issue 2 mandates for a
//! function route, and nothing Portico adds (no routing table, throttles, concurrency limits,
//! timeouts, logs, metrics or traces). Per request it builds the payload format 2.0 event as
//! `aws_lambda_events`' type, a `lambda_runtime::Context` with the ids Lambda gives, calls
//! the shipped `hello` handler through `LambdaEvent` exactly as Portico does, and maps the
//! proxy response to HTTP. What it costs over bare hyper bounds the ratio any implementation
//! of the issue can reach on a machine.
//!
//! The logged floor (`serve_logged`) also keeps what issue 2 mandates be logged: the
//! handler's `tracing` lines captured, START/END/REPORT with the invocation's duration and
//! Max Memory Used, and one access-log line, kept as `floor_log` keeps them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::encodings::Body;
use bytes::Bytes;
use http_body_util::Full;
use lambda_runtime::LambdaEvent;
use portico_runtime::observe::{capture, ids, max_memory_used_mb, timefmt};

use super::floor_log::{self, now_ms, AccessLog, Entry, InvocationLog};

/// Serves `GET /hello/{name}` through the floor on 127.0.0.1:0.
pub async fn serve() -> SocketAddr {
    super::serve_fn(answer).await
}

/// Serves `GET /hello/{name}` through the floor that also keeps the mandated logs.
pub async fn serve_logged() -> SocketAddr {
    super::serve_fn(answer_logged).await
}

async fn answer<B>(req: hyper::Request<B>, remote: SocketAddr) -> hyper::Response<Full<Bytes>> {
    let now_ms = now_ms();
    let request_id = ids::http_api_request_id();
    let event = event(&req, remote, &request_id, now_ms);
    let ctx = context(now_ms);
    let result = portico_functions::hello::handler(LambdaEvent::new(*event, ctx)).await;
    respond(result, &request_id)
}

async fn answer_logged<B>(
    req: hyper::Request<B>,
    remote: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let now_ms = now_ms();
    let request_id = ids::http_api_request_id();
    let event = event(&req, remote, &request_id, now_ms);
    let ctx = context(now_ms);
    let invocation_id = ctx.request_id.clone();
    let started = Instant::now();
    let (result, lines) = capture::capture(portico_functions::hello::handler(LambdaEvent::new(
        *event, ctx,
    )))
    .await;
    floor_log::keep(Entry::Invocation(InvocationLog {
        time_ms: now_ms,
        request_id: invocation_id,
        duration: started.elapsed(),
        max_memory_used_mb: max_memory_used_mb(),
        lines,
    }));
    let res = respond(result, &request_id);
    let length = hyper::body::Body::size_hint(res.body()).exact();
    floor_log::keep(Entry::Access(AccessLog::of(
        &req,
        remote,
        (now_ms, request_id),
        (res.status().as_u16(), length.unwrap_or(0)),
        None,
    )));
    res
}

/// The invocation's `lambda_runtime::Context`.
fn context(now_ms: u64) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = ids::uuid();
    ctx.deadline = now_ms + 3_000;
    ctx.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:hello".into();
    ctx.xray_trace_id = Some(ids::trace_id(now_ms / 1000));
    ctx
}

/// The proxy response as HTTP, or API Gateway's 502 for a handler error.
fn respond(
    result: Result<aws_lambda_events::apigw::ApiGatewayV2httpResponse, lambda_runtime::Error>,
    request_id: &str,
) -> hyper::Response<Full<Bytes>> {
    let response = match result {
        Ok(response) => response,
        Err(_) => {
            let mut res = hyper::Response::new(Full::new(Bytes::from_static(
                br#"{"message":"Internal server error"}"#,
            )));
            *res.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            return res;
        }
    };
    let body = match response.body {
        Some(Body::Text(text)) => Bytes::from(text),
        Some(Body::Binary(bytes)) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let mut res = hyper::Response::new(Full::new(body));
    *res.status_mut() =
        hyper::StatusCode::from_u16(response.status_code as u16).unwrap_or(hyper::StatusCode::OK);
    *res.headers_mut() = response.headers;
    res.headers_mut().insert(
        "apigw-requestid",
        hyper::header::HeaderValue::from_str(request_id).unwrap(),
    );
    res
}

/// The v2 event of `GET /hello/{name}`, with the members API Gateway fills, built in its Box
/// (the type is non-exhaustive and 1.3 KB).
#[allow(deprecated)] // the crate's deprecated fields are left at their defaults
fn event<B>(
    req: &hyper::Request<B>,
    remote: SocketAddr,
    request_id: &str,
    now_ms: u64,
) -> Box<ApiGatewayV2httpRequest> {
    let path = req.uri().path();
    let name = path.rsplit('/').next().unwrap_or_default();
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut event = Box::<ApiGatewayV2httpRequest>::default();
    event.version = Some("2.0".into());
    event.route_key = Some("GET /hello/{name}".into());
    event.raw_path = Some(path.into());
    event.raw_query_string = Some(req.uri().query().unwrap_or("").into());
    event.headers = req.headers().clone();
    event.path_parameters = HashMap::from([("name".to_owned(), name.to_owned())]);
    event.http_method = req.method().clone();
    let ctx = &mut event.request_context;
    ctx.route_key = Some("GET /hello/{name}".into());
    ctx.account_id = Some("123456789012".into());
    ctx.stage = Some("$default".into());
    ctx.request_id = Some(request_id.into());
    ctx.apiid = Some("bench".into());
    ctx.domain_name = Some(host.into());
    ctx.domain_prefix = Some(host.split('.').next().unwrap_or(host).into());
    ctx.time = Some(timefmt::clf(now_ms));
    ctx.time_epoch = now_ms as i64;
    let http = &mut ctx.http;
    http.method = req.method().clone();
    http.path = Some(path.into());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(remote.ip().to_string());
    http.user_agent = req
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    event
}
