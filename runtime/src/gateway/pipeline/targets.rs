//! Pipeline step 7 for the integrations other than a function: custom (AWS / AWS_PROXY /
//! HTTP with mapping templates), HTTP proxy (streamed), workflow and mock.

use std::time::Instant;

use bytes::Bytes;

use super::front::Matched;
use super::{Exchange, Outcome, Progress};
use crate::gateway::custom_integration::CustomIntegration;
use crate::gateway::http_proxy::HttpTarget;
use crate::gateway::mock::MockTarget;
use crate::observe::traces::with_parent;
use crate::workflow::ExecutionTrace;

/// A custom integration, behind the stage cache when the route has one.
pub(super) async fn custom<'a>(
    x: &Exchange<'_>,
    progress: &mut Progress,
    matched: Matched<'a>,
    custom: &CustomIntegration,
    body: Bytes,
) -> Outcome {
    let parts = x.parts;
    let cached = matched.prepare_cache(x)?;
    let Matched {
        mount,
        route,
        params,
        ..
    } = matched;
    let params = params.to_vec();
    let call = crate::gateway::custom_integration::Call {
        stack: x.stack,
        live: x.live,
        parts,
        params: &params,
        mount,
        resource: &route.key.resource,
        remote: x.remote,
        request_id: x.request_id,
        trace_id: x.trace_id,
        time_epoch_ms: x.time_epoch_ms,
    };
    let started = Instant::now();
    // Pinned where it is built: handed on by value, it would be copied into the fill's
    // future and again into `.await`'s, each a second copy of its whole state.
    let run = std::pin::pin!(crate::gateway::custom_integration::run(custom, call, body));
    let result = match cached {
        Some(cached) => cached.serve(run, &mut progress.cache_status).await,
        None => run.await,
    };
    progress.integration_us = Some(started.elapsed().as_micros() as u64);
    result
}

/// An HTTP proxy integration: the body streams to the upstream unless a body model needs it
/// whole first; the upstream's body streams back.
pub(super) async fn http<'a, B>(
    x: &Exchange<'_>,
    progress: &mut Progress,
    matched: Matched<'a>,
    target: &HttpTarget,
    body: super::body::PendingBody<B>,
) -> Outcome
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    let limit = x.live.config.server.max_body_bytes;
    let params = matched.params.to_vec();
    let forward = crate::gateway::http_proxy::Forward {
        parts: x.parts,
        params: &params,
        variables: &matched.mount.variables,
        remote: x.remote,
        max_body_bytes: limit,
        default_timeout: x.live.config.server.integration_timeout,
    };
    let clock = &x.stack.clock;
    let started = Instant::now();
    let validator = matched
        .route
        .validator
        .as_ref()
        .filter(|v| v.body.is_some());
    let result = match (validator, body) {
        (None, super::body::PendingBody::Unread(body)) => {
            crate::gateway::http_proxy::forward(target, clock, forward, body).await
        }
        // A body model needs the whole body before anything is forwarded.
        (validator, body) => {
            let body = body.read(limit).await?;
            if let Some(validator) = validator {
                validator.check_body(&body)?;
            }
            let body = http_body_util::Full::new(body);
            crate::gateway::http_proxy::forward(target, clock, forward, body).await
        }
    };
    progress.integration_us = Some(started.elapsed().as_micros() as u64);
    result.map(|(head, body)| {
        progress.streamed = Some(body);
        head
    })
}

/// A workflow integration; with tracing on, the execution's states join this request's
/// timeline.
pub(super) async fn workflow(
    x: &Exchange<'_>,
    progress: &mut Progress,
    name: &str,
    sync: bool,
    body: Bytes,
) -> Outcome {
    let started = Instant::now();
    let trace = &mut progress.trace;
    let execution_trace = if x.tracing {
        let span = trace.reserve_span();
        ExecutionTrace {
            header: with_parent(x.trace_id, span),
            states: Some(trace.states(span)),
        }
    } else {
        ExecutionTrace::header(x.trace_id)
    };
    let result =
        crate::gateway::workflow_integration::run(x.stack, name, sync, &body, execution_trace)
            .await;
    progress.integration_us = Some(started.elapsed().as_micros() as u64);
    let trace = &mut progress.trace;
    if let Some(span) = x.tracing.then(|| trace.states_parent()).flatten() {
        trace.segment_with_span(
            crate::observe::traces::WORKFLOW_SPAN,
            started,
            Some(name.to_owned()),
            span,
        );
    }
    result
}

/// A mock integration: its templates answer without any call.
pub(super) fn mock(
    x: &Exchange<'_>,
    matched: &Matched<'_>,
    target: &MockTarget,
    body: Bytes,
) -> Outcome {
    let source_ip = crate::gateway::request::source_ip_text(x.remote.ip());
    let params = matched.params.to_vec();
    let request = crate::gateway::mock::TemplateRequest::new(
        x.parts,
        &body,
        &params,
        &matched.mount.variables,
        x.request_id,
        &matched.mount.stage,
        &matched.mount.api_id,
        &matched.route.key.resource,
        &source_ip,
        x.time_epoch_ms,
    )?;
    crate::gateway::mock::respond(target, &request)
}
