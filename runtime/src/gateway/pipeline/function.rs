//! Pipeline steps 6–7 for a function route whose cache lookup missed (the front door answers
//! hits before this future exists): the proxy event (v1 or v2) is built and the function
//! invoked under the integration timeout, and its response mapped (and cached).

use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use bytes::Bytes;

use super::front::Matched;
use super::{Exchange, Outcome, Progress};
use crate::config::ApiKind;
use crate::gateway::caching::Prepared;
use crate::gateway::error::GatewayError;
use crate::gateway::request::GatewayRequest;
use crate::gateway::{event_v1, event_v2, response};
use crate::invoke::{Invocation, Payload};

/// Serves a function route whose cache lookup (in the front door) missed: invokes the
/// function, through `cached`'s fill when the route is cached.
pub(super) async fn run<'a>(
    x: &Exchange<'_>,
    progress: &mut Progress,
    matched: Matched<'a>,
    function_name: &String,
    body: Bytes,
    cached: Option<Prepared<'a>>,
) -> Outcome {
    let Some(function) = crate::invoke::resolve_target(&x.live.functions, function_name) else {
        return Err((
            GatewayError::BadGateway,
            format!("function `{function_name}` is not running"),
        ));
    };
    let kind = matched.mount.kind;
    let invocation = invocation(x, matched, body);
    let timeout = x.live.config.server.integration_timeout;
    // Pinned where it is built: a future handed on by value (to the cache's fill, or to
    // `.await`) is a second copy inside this one, and this future is boxed, so every byte of
    // it is copied and written on every request.
    let (response, cache_step) = {
        let integration = std::pin::pin!(async {
            let invoked = x.tracing.then(Instant::now);
            let integration_started = Instant::now();
            // A function whose own timeout comes first needs no second timer.
            let outcome = if function.settings().timeout <= timeout {
                Ok(function.try_invoke(invocation).await)
            } else {
                invoke_under_timeout(&x.stack.clock, timeout, &function, invocation).await
            };
            progress.integration_us = Some(integration_started.elapsed().as_micros() as u64);
            if let Some(invoked) = invoked {
                progress
                    .trace
                    .segment("function", invoked, Some(function_name.clone()));
            }
            map_outcome(kind, timeout, outcome)
        });
        match cached {
            Some(cached) => {
                let lookup = Instant::now();
                let mut cache_status = None;
                let response = cached.serve(integration, &mut cache_status).await;
                (response, Some((lookup, cache_status)))
            }
            None => (integration.await, None),
        }
    };
    if let Some((lookup, cache_status)) = cache_step {
        progress.cache_status = cache_status;
        if x.tracing {
            let status = cache_status.map(|s| crate::gateway::caching::status_text(s).to_owned());
            progress.trace.segment("cache", lookup, status);
        }
    }
    response
}

/// The invocation of a function route: its proxy event (v1 or v2) with the trace id and
/// cold-start header. Not async, so nothing it builds on the way is held by the route's future.
fn invocation(x: &Exchange<'_>, matched: Matched<'_>, body: Bytes) -> Invocation {
    let parts = x.parts;
    let Matched {
        mount,
        route,
        stage_path,
        params,
        custom_domain,
        authorized,
    } = matched;
    let path = x.path();
    let request = GatewayRequest {
        method: &parts.method,
        // Through a custom domain, as AWS documents: payload 1.0's `path` keeps the base
        // path, 2.0's `rawPath` does not.
        raw_path: if custom_domain && mount.kind == ApiKind::Http {
            stage_path
        } else {
            path
        },
        stage_path: if custom_domain && mount.kind == ApiKind::Rest {
            path
        } else {
            stage_path
        },
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
        protocol: "HTTP/1.1",
        source_ip: crate::gateway::request::source_ip_text(x.remote.ip()),
        request_id: x.request_id,
        time_epoch_ms: x.time_epoch_ms,
        route_key: match mount.kind {
            ApiKind::Http => &route.key.text,
            ApiKind::Rest => &route.key.resource,
        },
        resource: &route.key.resource,
        path_parameters: params
            .into_iter()
            .map(|(k, v)| (k, percent_decode(v)))
            .collect(),
        stage: &mount.stage,
        stage_variables: &mount.variables,
        api_id: &mount.api_id,
        authorizer: authorized.as_ref(),
    };
    let payload = match mount.kind {
        ApiKind::Http => Payload::typed_with_json(event_v2::build(request), v2_json),
        ApiKind::Rest => Payload::typed_with_json(event_v1::build(&request), v1_json),
    };
    let mut invocation = Invocation::new(payload);
    invocation.trace_id = Some(x.trace_id.to_owned());
    invocation.force_cold_start = crate::invoke::forces_cold_start(&parts.headers);
    invocation
}

/// The integration's answer: the function's response mapped to HTTP, or the gateway error
/// a throttle, a function error or the integration timeout gives.
fn map_outcome(
    kind: ApiKind,
    timeout: std::time::Duration,
    outcome: Result<
        Result<crate::invoke::Outcome, crate::invoke::Throttled>,
        crate::clock::Elapsed,
    >,
) -> Outcome {
    match outcome {
        Ok(Err(throttled)) => Err((
            GatewayError::throttled_lambda(kind),
            format!("function throttled: {}", throttled.reason()),
        )),
        Ok(Ok(outcome)) => match outcome.result {
            Ok(payload) => {
                response::map(kind, payload).map_err(|e| (GatewayError::BadGateway, e.to_string()))
            }
            Err(err) => Err((GatewayError::BadGateway, format!("function error: {err}"))),
        },
        Err(_) => {
            let err = match kind {
                ApiKind::Http => GatewayError::ServiceUnavailable,
                ApiKind::Rest => GatewayError::EndpointTimeout,
            };
            Err((err, format!("integration timed out after {timeout:?}")))
        }
    }
}

/// An invocation under the integration's timer: its outcome, or the timer's expiry.
type TimedInvocation<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    Result<crate::invoke::Outcome, crate::invoke::Throttled>,
                    crate::clock::Elapsed,
                >,
            > + Send
            + 'a,
    >,
>;

/// The rare invocation that needs the integration's own timer: boxed, because the timer
/// future holds the invocation's whole future again, which would double the size of every
/// function route's future (the common case, a function timeout within the integration's,
/// needs none).
#[cold]
#[inline(never)]
fn invoke_under_timeout<'a>(
    clock: &'a crate::Clock,
    timeout: std::time::Duration,
    function: &'a crate::invoke::Function,
    invocation: Invocation,
) -> TimedInvocation<'a> {
    Box::pin(clock.timeout(timeout, function.try_invoke(invocation)))
}

fn v2_json(event: &(dyn std::any::Any + Send)) -> serde_json::Result<serde_json::Value> {
    match event.downcast_ref::<ApiGatewayV2httpRequest>() {
        Some(e) => event_v2::to_json(e),
        None => Ok(serde_json::Value::Null),
    }
}

fn v1_json(event: &(dyn std::any::Any + Send)) -> serde_json::Result<serde_json::Value> {
    match event.downcast_ref::<ApiGatewayProxyRequest>() {
        Some(e) => event_v1::to_json(e),
        None => Ok(serde_json::Value::Null),
    }
}

fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}
