//! Pipeline steps 3–5 and the dispatch to step 6/7: an unmatched request's 404/403, CORS
//! preflights, then body-before-auth for IAM, the authorizer, the API key and admission,
//! parameter validation, and finally the route's integration.

use std::time::Instant;

use bytes::Bytes;

use super::body::{check_declared_length, read_body, PendingBody};
use super::{Exchange, Failure, Outcome, Progress};
use crate::auth::{AuthContext, CorsConfig};
use crate::config::{ApiKind, Target};
use crate::gateway::caching::Prepared;
use crate::gateway::error::GatewayError;
use crate::gateway::response::ProxyResponse;
use crate::gateway::router::{CompiledRoute, Mount, PathParams, Routed};

/// A request that matched a route and passed its authorizer.
pub(super) struct Matched<'a> {
    pub(super) mount: &'a Mount,
    pub(super) route: &'a CompiledRoute,
    /// The path within the stage.
    pub(super) stage_path: &'a str,
    /// Path parameter names with their raw (still percent-encoded) values.
    pub(super) params: PathParams<'a>,
    /// Routed through a custom domain's base path mapping.
    pub(super) custom_domain: bool,
    /// What the authorizer established.
    pub(super) authorized: Option<AuthContext>,
}

impl<'a> Matched<'a> {
    /// Whether this request goes through its stage's cache (with its key when it does);
    /// `Err` is the `FAIL_WITH_403` answer to an unauthorized invalidation.
    pub(super) fn prepare_cache(&self, x: &Exchange<'_>) -> Result<Option<Prepared<'a>>, Failure> {
        crate::gateway::caching::prepare(x.stack, self.mount, self.route, x.parts, &self.params)
    }
}

/// Runs a routed request through the front door and its integration.
pub(super) async fn run<'a, B>(
    x: &Exchange<'_>,
    progress: &mut Progress,
    routed: Routed<'a>,
    cors: Option<&CorsConfig>,
    kind: ApiKind,
    body: B,
) -> Outcome
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    let parts = x.parts;
    if let Some(cors) = cors.filter(|_| CorsConfig::is_preflight(&parts.method, &parts.headers)) {
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
        return Err(unmatched(&routed, kind));
    };
    progress.route_key = route.key_text;
    progress.resource_path = route.resource_text;
    let limit = x.live.config.server.max_body_bytes;
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
        raw_path: x.path(),
        route_key: &route.key.text,
        body: match &body {
            PendingBody::Read(bytes) => Some(bytes),
            PendingBody::Unread(_) => None,
        },
        stage_path,
        resource: &route.key.resource,
        source_ip: x.remote.ip(),
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
            &x.live.functions,
            &x.stack.clock,
        )
        .await?;
    let api_key = mount.auth.api_key(&parts.headers, authorized.as_ref());
    let admission_started = x.tracing.then(Instant::now);
    let admitted =
        crate::gateway::admission::admit(x.stack, mount, route, api_key, x.time_epoch_ms).await;
    if let Some(admission_started) = admission_started {
        let refused = admitted
            .as_ref()
            .err()
            .map(|(e, _)| format!("refused: {e:?}"));
        progress
            .trace
            .segment("admission", admission_started, refused);
    }
    admitted?;
    check_declared_length(&parts.headers, limit)?;
    if let Some(validator) = &route.validator {
        validator.check_parameters(parts, &params.to_vec())?;
    }
    let matched = Matched {
        mount,
        route,
        stage_path,
        params,
        custom_domain,
        authorized,
    };
    // A custom integration's future (about 11.8 KB) is boxed: inline, it would size this
    // one. The others are smaller than the authorizer's, whose slot they share, so they stay
    // inline: boxing them cost an allocation and a copy of the whole future per request. A
    // function route's cache hit is answered here, before its function's future exists.
    match &route.target {
        Target::Custom(custom) => {
            let body = read_valid_body(route, body, limit).await?;
            Box::pin(super::targets::custom(x, progress, matched, custom, body)).await
        }
        // HTTP proxy routes stream the body to the upstream instead of reading it here.
        Target::Http(target) => super::targets::http(x, progress, matched, target, body).await,
        Target::Function(name) => {
            let body = read_valid_body(route, body, limit).await?;
            let cached = match cache_step(x, progress, &matched).await? {
                CacheStep::Hit(response) => return Ok(response),
                CacheStep::Miss(cached) => cached,
            };
            super::function::run(x, progress, matched, name, body, cached).await
        }
        Target::Workflow { name, sync } => {
            let body = read_valid_body(route, body, limit).await?;
            super::targets::workflow(x, progress, name, *sync, body).await
        }
        Target::Mock(target) => {
            let body = read_valid_body(route, body, limit).await?;
            super::targets::mock(x, &matched, target, body)
        }
    }
}

/// What a function route's cache step found before the function's future exists.
enum CacheStep<'a> {
    /// A fresh cached response: the answer.
    Hit(ProxyResponse),
    /// The request goes to the function: through the cache (which remembers what its lookup
    /// saw, so the fill does not look again) or, with `None`, around it.
    Miss(Option<Prepared<'a>>),
}

/// Looks the request up in its stage's cache, before the function's future is built.
async fn cache_step<'a>(
    x: &Exchange<'_>,
    progress: &mut Progress,
    matched: &Matched<'a>,
) -> Result<CacheStep<'a>, Failure> {
    let Some(cached) = matched.prepare_cache(x)? else {
        return Ok(CacheStep::Miss(None));
    };
    let lookup = x.tracing.then(Instant::now);
    let hit = cached
        .hit(&mut progress.cache_status, x.time_epoch_ms)
        .await;
    match hit {
        Some(response) => {
            if let Some(lookup) = lookup {
                progress
                    .trace
                    .segment("cache", lookup, Some("hit".to_owned()));
            }
            Ok(CacheStep::Hit(response))
        }
        None => Ok(CacheStep::Miss(Some(cached))),
    }
}

/// The body, read within the limit and checked against the route's model.
async fn read_valid_body<B>(
    route: &CompiledRoute,
    body: PendingBody<B>,
    limit: u64,
) -> Result<Bytes, Failure>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    let body = body.read(limit).await?;
    if let Some(validator) = &route.validator {
        validator.check_body(&body)?;
    }
    Ok(body)
}

/// AWS's answer to a request no route takes: 403 `Missing Authentication Token` (REST, or no
/// API at all), 404 on an HTTP API, 403 for a custom domain without a matching mapping.
fn unmatched(routed: &Routed<'_>, kind: ApiKind) -> Failure {
    match kind {
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
    }
}
