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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};

use super::error::GatewayError;
use super::request::GatewayRequest;
use super::response::{self, ProxyResponse};
use super::router::Routed;
use super::stage_logs::ExecutionRecord;
use super::{event_v1, event_v2};
use crate::auth::{gateway_responses, CorsConfig};
use crate::config::ExecutionLogLevel;
use crate::config::{ApiKind, Target};
use crate::invoke::{Invocation, Payload};
use crate::observe::access_log::AccessRecord;
use crate::observe::ids;
use crate::observe::traces::{with_parent, TraceBuilder};
use crate::stack::StackInner;
use crate::workflow::ExecutionTrace;

// Constants, so the names are not parsed and validated again on every request.
const TRACE_HEADER: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const HTTP_API_REQUEST_ID: HeaderName = HeaderName::from_static("apigw-requestid");
const REST_API_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

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
    let path = parts.uri.path();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let routed = live.route(&parts.method, host, path);
    let (kind, route_metrics) = match &routed {
        Routed::Route { mount, metrics, .. } => (mount.kind, Some(*metrics)),
        Routed::NoRoute(mount) => (mount.kind, Some(&mount.unmatched_metrics)),
        Routed::NoApi | Routed::NoMapping => (ApiKind::Rest, None),
    };
    let request_id = match kind {
        ApiKind::Http => ids::http_api_request_id(),
        ApiKind::Rest => ids::uuid(),
    };
    let stage_logs = match &routed {
        Routed::Route { mount, .. } | Routed::NoRoute(mount) => Some(&*mount.logs),
        Routed::NoApi | Routed::NoMapping => None,
    };
    let tracing = live.config.logs.traces;
    let mut trace = TraceBuilder::new(started);
    // The access record's spelling when no route matched.
    static NO_ROUTE: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from("-"));
    let mut route_key: &Arc<str> = &NO_ROUTE;
    let mut resource_path: &Arc<str> = &NO_ROUTE;
    let mut integration_us = None;
    let mut cache_status = None;
    let mut streamed: Option<Body> = None;
    let routed_mount = match &routed {
        Routed::Route { mount, .. } | Routed::NoRoute(mount) => Some(*mount),
        Routed::NoApi | Routed::NoMapping => None,
    };
    let cors = routed_mount.and_then(|m| m.auth.cors());
    let outcome: Result<ProxyResponse, (GatewayError, String)> = async {
        if let Some(cors) = cors.filter(|_| CorsConfig::is_preflight(&parts.method, &parts.headers))
        {
            let (status, headers) = cors.preflight(&parts.headers);
            return Ok(ProxyResponse {
                status,
                headers,
                body: Bytes::new(),
            });
        }
        let Routed::Route {
            mount,
            route,
            stage_path,
            params,
            custom_domain,
            ..
        } = routed
        else {
            return Err(match kind {
                _ if matches!(routed, Routed::NoMapping) => (
                    GatewayError::Forbidden,
                    "no base path mapping of the custom domain matches".into(),
                ),
                ApiKind::Http if !matches!(routed, Routed::NoApi) => {
                    (GatewayError::NotFound, "no route matches".into())
                }
                _ => (
                    GatewayError::MissingAuthenticationToken,
                    "no route matches".into(),
                ),
            });
        };
        route_key = &route.key_text;
        resource_path = &route.resource_text;
        let limit = live.config.server.max_body_bytes;
        // SigV4 signs the body, so IAM routes read it (within the limit) before authorizing.
        let body = if mount.auth.needs_body(route.auth.as_ref()) {
            check_declared_length(&parts.headers, limit)?;
            PendingBody::Read(read_body(body, limit).await?)
        } else {
            PendingBody::Unread(body)
        };
        let auth_request = crate::auth::AuthRequest {
            method: &parts.method,
            headers: &parts.headers,
            query: parts.uri.query().unwrap_or(""),
            raw_path: path,
            route_key: &route.key.text,
            body: match &body {
                PendingBody::Read(bytes) => Some(bytes),
                PendingBody::Unread(_) => None,
            },
            stage_path,
            resource: &route.key.resource,
            source_ip: remote.ip(),
            http_api: mount.kind == ApiKind::Http,
            stage: &mount.stage,
            stage_variables: &mount.variables,
            api_id: &mount.api_id,
        };
        let authorized = mount
            .auth
            .authorize(
                route.auth.as_ref(),
                &auth_request,
                &live.functions,
                &stack.clock,
            )
            .await?;
        let api_key = mount.auth.api_key(&parts.headers, authorized.as_ref());
        let admission_started = tracing.then(Instant::now);
        let admitted = super::admission::admit(stack, mount, route, api_key, time_epoch_ms).await;
        if let Some(admission_started) = admission_started {
            let refused = admitted
                .as_ref()
                .err()
                .map(|(e, _)| format!("refused: {e:?}"));
            trace.segment("admission", admission_started, refused);
        }
        admitted?;
        check_declared_length(&parts.headers, limit)?;
        if let Some(validator) = &route.validator {
            validator.check_parameters(&parts, &params)?;
        }
        if let Target::Custom(custom) = &route.target {
            let body = body.read(limit).await?;
            if let Some(validator) = &route.validator {
                validator.check_body(&body)?;
            }
            let query = parts.uri.query().unwrap_or("");
            let cached = super::caching::prepare(
                stack,
                mount,
                route,
                &parts.method,
                &parts.headers,
                &params,
                query,
            )?;
            let call = super::custom_integration::Call {
                stack,
                live: &live,
                parts: &parts,
                params: &params,
                mount,
                resource: &route.key.resource,
                remote,
                request_id: &request_id,
                trace_id: &trace_id,
                time_epoch_ms,
            };
            let started = Instant::now();
            let run = super::custom_integration::run(custom, call, body);
            let result = match cached {
                Some(cached) => cached.serve(run, &mut cache_status).await,
                None => run.await,
            };
            integration_us = Some(started.elapsed().as_micros() as u64);
            return result;
        }
        // HTTP proxy routes stream the body to the upstream instead of reading it here.
        if let Target::Http(target) = &route.target {
            let forward = super::http_proxy::Forward {
                parts: &parts,
                params: &params,
                variables: &mount.variables,
                remote,
                max_body_bytes: limit,
                default_timeout: live.config.server.integration_timeout,
            };
            let started = Instant::now();
            let result = match (route.validator.as_ref().filter(|v| v.body.is_some()), body) {
                (None, PendingBody::Unread(body)) => {
                    super::http_proxy::forward(target, &stack.clock, forward, body).await
                }
                // A body model needs the whole body before anything is forwarded.
                (validator, body) => {
                    let body = body.read(limit).await?;
                    if let Some(validator) = validator {
                        validator.check_body(&body)?;
                    }
                    let body = http_body_util::Full::new(body);
                    super::http_proxy::forward(target, &stack.clock, forward, body).await
                }
            };
            integration_us = Some(started.elapsed().as_micros() as u64);
            return result.map(|(head, body)| {
                streamed = Some(body);
                head
            });
        }
        let body = body.read(limit).await?;
        if let Some(validator) = &route.validator {
            validator.check_body(&body)?;
        }
        let function_name = match &route.target {
            Target::Function(name) => name,
            Target::Workflow { name, sync } => {
                let started = Instant::now();
                // The execution runs under the request's trace; its states join this timeline.
                let execution_trace = if tracing {
                    let span = trace.reserve_span();
                    ExecutionTrace {
                        header: with_parent(&trace_id, span),
                        states: Some(trace.states(span)),
                    }
                } else {
                    ExecutionTrace::header(trace_id.as_str())
                };
                let result =
                    super::workflow_integration::run(stack, name, *sync, &body, execution_trace)
                        .await;
                integration_us = Some(started.elapsed().as_micros() as u64);
                if let Some(span) = tracing.then(|| trace.states_parent()).flatten() {
                    trace.segment_with_span("workflow", started, Some(name.clone()), span);
                }
                return result;
            }
            Target::Mock(target) => {
                let source_ip = super::request::source_ip_text(remote.ip());
                let request = super::mock::TemplateRequest::new(
                    &parts,
                    &body,
                    &params,
                    &mount.variables,
                    &request_id,
                    &mount.stage,
                    &mount.api_id,
                    &route.key.resource,
                    &source_ip,
                    time_epoch_ms,
                )?;
                return super::mock::respond(target, &request);
            }
            // Answered above, before the body is read.
            Target::Http(_) | Target::Custom(_) => {
                return Err((
                    GatewayError::BadGateway,
                    "HTTP route reached the body".into(),
                ))
            }
        };
        let Some(function) = crate::invoke::resolve_target(&live.functions, function_name) else {
            return Err((
                GatewayError::BadGateway,
                format!("function `{function_name}` is not running"),
            ));
        };
        // Cache (DESIGN.md step 8): once route, limits and body are good, before the integration.
        let cached = super::caching::prepare(
            stack,
            mount,
            route,
            &parts.method,
            &parts.headers,
            &params,
            parts.uri.query().unwrap_or(""),
        )?;
        // A hit is answered before the integration future exists: that future is large, and
        // moving it into the cache's fill cost more than the rest of a hit.
        if let Some(cached) = &cached {
            let lookup = tracing.then(Instant::now);
            if let Some(response) = cached.hit(&mut cache_status).await {
                if let Some(lookup) = lookup {
                    trace.segment("cache", lookup, Some("hit".to_owned()));
                }
                return Ok(response);
            }
        }
        let integration = async {
            let request = GatewayRequest {
                method: &parts.method,
                // Through a custom domain, as AWS documents: payload 1.0's `path` keeps the
                // base path, 2.0's `rawPath` does not.
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
                source_ip: super::request::source_ip_text(remote.ip()),
                request_id: &request_id,
                time_epoch_ms,
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
            invocation.trace_id = Some(trace_id.clone());
            invocation.force_cold_start = crate::invoke::forces_cold_start(&parts.headers);
            let timeout = live.config.server.integration_timeout;
            let integration_started = Instant::now();
            // A function whose own timeout comes first needs no second timer.
            let outcome = if function.settings().timeout <= timeout {
                Ok(function.try_invoke(invocation).await)
            } else {
                stack
                    .clock
                    .timeout(timeout, function.try_invoke(invocation))
                    .await
            };
            let elapsed_us = integration_started.elapsed().as_micros() as u64;
            let mapped = match outcome {
                Ok(Err(throttled)) => Err((
                    GatewayError::throttled_lambda(mount.kind),
                    format!("function throttled: {}", throttled.reason()),
                )),
                Ok(Ok(outcome)) => match outcome.result {
                    Ok(payload) => response::map(mount.kind, payload)
                        .map_err(|e| (GatewayError::BadGateway, e.to_string())),
                    Err(err) => Err((GatewayError::BadGateway, format!("function error: {err}"))),
                },
                Err(_) => {
                    let err = match mount.kind {
                        ApiKind::Http => GatewayError::ServiceUnavailable,
                        ApiKind::Rest => GatewayError::EndpointTimeout,
                    };
                    Err((err, format!("integration timed out after {timeout:?}")))
                }
            };
            (mapped, elapsed_us)
        };
        let timed = async {
            let invoked = tracing.then(Instant::now);
            let (response, elapsed_us) = integration.await;
            if let Some(invoked) = invoked {
                trace.segment("function", invoked, Some(function_name.clone()));
            }
            integration_us = Some(elapsed_us);
            response
        };
        match cached {
            Some(cached) => {
                let lookup = Instant::now();
                let response = cached.serve(timed, &mut cache_status).await;
                if tracing {
                    let status = cache_status.map(|s| super::caching::status_text(s).to_owned());
                    trace.segment("cache", lookup, status);
                }
                response
            }
            None => timed.await,
        }
    }
    .await;

    let mut error_type = None;
    let (mut response, error_message) = match outcome {
        Ok(proxy) => {
            let body = streamed.take().unwrap_or_else(|| Body::from(proxy.body));
            let mut response = Response::new(body);
            *response.status_mut() = proxy.status;
            *response.headers_mut() = proxy.headers;
            (response, None)
        }
        Err((err, detail)) => {
            let mut response = Response::new(Body::from(err.body()));
            *response.status_mut() = err.status();
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            error_type = err.error_type();
            if let Some(t) = error_type {
                headers.insert("x-amzn-errortype", HeaderValue::from_static(t));
            }
            if let Some(secs) = err.retry_after_secs() {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
            }
            if let Some(mount) = routed_mount {
                if let Some(custom) = mount.auth.responses().find(&err) {
                    let message = err.to_string();
                    let ctx = gateway_responses::TemplateContext {
                        message: &message,
                        response_type: gateway_responses::response_type(&err),
                        request_id: &request_id,
                        stage: &mount.stage,
                        api_id: &mount.api_id,
                    };
                    gateway_responses::apply(custom, &mut response, &ctx);
                }
            }
            (response, Some(detail))
        }
    };
    if let Some(cors) = cors {
        cors.decorate(&parts.method, &parts.headers, response.headers_mut());
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(
            match kind {
                ApiKind::Http => HTTP_API_REQUEST_ID,
                ApiKind::Rest => REST_API_REQUEST_ID,
            },
            v,
        );
    }
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        headers.insert(TRACE_HEADER, v);
    }
    if tracing {
        let finished = trace.finish(
            trace_id.clone(),
            request_id.clone(),
            time_epoch_ms,
            format!("{} {path}", parts.method),
            response.status().as_u16(),
        );
        if let Some(exporter) = &stack.otlp {
            exporter.submit(finished.clone());
        }
        stack.traces.push(finished);
    }
    if let Some(metrics) = route_metrics.filter(|_| live.config.logs.metrics) {
        let latency_us = started.elapsed().as_micros() as u64;
        if let Some(status) = cache_status {
            metrics.record_cache(&stack.metrics, time_epoch_ms / 60_000, status);
        }
        metrics.record(
            time_epoch_ms / 60_000,
            response.status().as_u16(),
            latency_us,
            integration_us,
        );
    }
    if let Some((level, group)) = stage_logs.and_then(|l| l.execution.as_ref()) {
        if *level == ExecutionLogLevel::Info || error_message.is_some() {
            let record = ExecutionRecord {
                request_id: request_id.clone(),
                method: parts.method.clone(),
                path: path.to_owned(),
                route_key: route_key.to_string(),
                status: response.status().as_u16(),
                integration_ms: integration_us.map(|us| us / 1000),
                error: error_message.clone(),
            };
            group.push_record(&stack.access_stream, time_epoch_ms, Arc::new(record));
        }
    }
    if live.config.logs.access_log {
        let (format, group) = match stage_logs.and_then(|l| l.access.as_ref()) {
            Some((format, group)) => (Some(format.clone()), group),
            None => (None, &stack.access_log),
        };
        let record = AccessRecord {
            route_key: route_key.clone(),
            request_id,
            ip: remote.ip(),
            time_ms: time_epoch_ms,
            status: response.status().as_u16(),
            protocol: "HTTP/1.1",
            response_length: http_body::Body::size_hint(response.body())
                .exact()
                .unwrap_or(0),
            response_latency_ms: started.elapsed().as_millis() as u64,
            error_message,
            cache_status: cache_status.map(super::caching::status_text),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            resource_path: resource_path.clone(),
            path: path.to_owned(),
            integration_latency_ms: integration_us.map(|us| us / 1000),
            error_type,
            stage: stage_logs.map(|l| l.stage.clone()),
            api_id: stage_logs.map(|l| l.api_id.clone()),
            trace_id,
            format,
            http_method: parts.method,
        };
        group.push_record(&stack.access_stream, time_epoch_ms, Arc::new(record));
    }
    response
}

/// The request body: still streaming, or already read (IAM routes read it to authorize).
enum PendingBody<B> {
    Unread(B),
    Read(Bytes),
}

impl<B> PendingBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    /// The whole body, read within the limit unless it already was.
    async fn read(self, limit: u64) -> Result<Bytes, (GatewayError, String)> {
        match self {
            PendingBody::Read(bytes) => Ok(bytes),
            // Most requests (GETs) have no body: nothing to collect.
            PendingBody::Unread(body) if http_body::Body::is_end_stream(&body) => Ok(Bytes::new()),
            PendingBody::Unread(body) => read_body(body, limit).await,
        }
    }
}

/// Refuses a declared `Content-Length` over the limit before any byte is read.
fn check_declared_length(
    headers: &http::HeaderMap,
    limit: u64,
) -> Result<(), (GatewayError, String)> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err((
            GatewayError::PayloadTooLarge,
            format!("content-length over {limit} bytes"),
        ));
    }
    Ok(())
}

/// Reads the body within the limit.
async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, (GatewayError, String)>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    match Limited::new(body, limit as usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err((
            GatewayError::PayloadTooLarge,
            format!("body over {limit} bytes"),
        )),
        Err(e) => Err((
            GatewayError::BadRequest,
            format!("reading the body failed: {e}"),
        )),
    }
}

/// The log group access-log lines go to.
pub const ACCESS_LOG_GROUP: &str = "/aws/apigateway/access-logs";

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
