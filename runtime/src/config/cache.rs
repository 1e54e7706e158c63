//! Response caching in gateway.toml: a stage's `cache = { ... }` and a route's
//! `cache = { ... }`, checked into the cache library's settings with every error at its
//! file:line:col.

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use super::{parse_duration, ApiKind, RouteKey, Segment};
use crate::cache::{
    CacheKeySpec, RouteCacheSettings, StageCacheSettings, UnauthorizedStrategy,
    DEFAULT_CAPACITY_BYTES, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS,
};

/// `[apis.NAME.stages.STAGE] cache = { ... }`: the stage's cache cluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCacheSection {
    /// The most bytes (keys, headers, bodies) the cache holds (default 500000000, 0.5 GB).
    pub capacity_bytes: Option<Spanned<u64>>,
    /// TTL for routes that set none, `0s` to `3600s` (default `300s`; `0s` disables).
    pub ttl: Option<Spanned<String>>,
    /// `x-api-key` values allowed to invalidate entries with `Cache-Control: max-age=0`.
    #[serde(default)]
    pub invalidation_keys: Vec<Spanned<String>>,
    /// Whether the cache has a second level in the stack's store, shared by every replica
    /// on that store (default false).
    pub shared: Option<bool>,
}

/// `[[apis.NAME.routes]] cache = { ... }`: how the route is cached in stages with a cache.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteCacheSection {
    /// Whether the route is cached (default true).
    pub enabled: Option<bool>,
    /// TTL, `0s` to `3600s` (default: the stage's; `0s` disables).
    pub ttl: Option<Spanned<String>>,
    /// Parameters that split entries: `method.request.{path|querystring|header}.NAME`.
    #[serde(default)]
    pub key_parameters: Vec<Spanned<String>>,
    /// Methods whose responses are cached (default `["GET"]`).
    pub methods: Option<Vec<Spanned<String>>>,
    /// Whether `Cache-Control: max-age=0` needs an invalidation key (default true).
    pub require_authorization: Option<bool>,
    /// `FAIL_WITH_403`, `SUCCEED_WITH_RESPONSE_HEADER` (default) or
    /// `SUCCEED_WITHOUT_RESPONSE_HEADER`.
    pub unauthorized_strategy: Option<Spanned<String>>,
}

/// A stage's cache, resolved.
#[derive(Debug, Clone)]
pub struct StageCacheConfig {
    /// Capacity and default TTL.
    pub settings: StageCacheSettings,
    /// `x-api-key` values allowed to invalidate.
    pub invalidation_keys: Vec<String>,
    /// Whether entries are also kept in the stack's store, shared by replicas.
    pub shared: bool,
}

/// Resolves a stage's `cache` table; `None` after recording errors.
pub(super) fn resolve_stage(
    api: &str,
    stage: &str,
    kind: ApiKind,
    section: &Spanned<StageCacheSection>,
    errors: &mut Errors<'_>,
) -> Option<StageCacheConfig> {
    let before = errors.list.len();
    let at = section.span().start;
    let where_ = format!("api `{api}` stage `{stage}`: cache");
    if kind == ApiKind::Http {
        errors.at(
            Some(at),
            format!("{where_}: response caching is a REST API feature; HTTP APIs have no cache"),
        );
    }
    let section = section.get_ref();
    let capacity_bytes = match &section.capacity_bytes {
        Some(c) if *c.get_ref() == 0 => {
            errors.at(
                Some(c.span().start),
                format!("{where_}: `capacity_bytes` must be greater than 0"),
            );
            0
        }
        Some(c) => *c.get_ref(),
        None => DEFAULT_CAPACITY_BYTES,
    };
    let ttl_seconds = ttl(&section.ttl, &where_, errors).unwrap_or(DEFAULT_TTL_SECONDS);
    let mut invalidation_keys = Vec::new();
    for key in &section.invalidation_keys {
        if key.get_ref().is_empty() {
            errors.at(
                Some(key.span().start),
                format!("{where_}: an invalidation key must not be empty"),
            );
        }
        invalidation_keys.push(key.get_ref().clone());
    }
    (errors.list.len() == before).then_some(StageCacheConfig {
        settings: StageCacheSettings {
            capacity_bytes,
            ttl_seconds,
        },
        invalidation_keys,
        shared: section.shared.unwrap_or(false),
    })
}

/// Resolves a route's `cache` table; `stage_has_cache` tells whether any stage of the API
/// has a cache for it to use. `None` after recording errors.
pub(super) fn resolve_route(
    api: &str,
    key: &RouteKey,
    stage_has_cache: bool,
    section: &Spanned<RouteCacheSection>,
    errors: &mut Errors<'_>,
) -> Option<RouteCacheSettings> {
    let before = errors.list.len();
    let where_ = format!("api `{api}` route `{key}`: cache");
    if !stage_has_cache {
        errors.at(
            Some(section.span().start),
            format!(
                "{where_}: no stage of this api has a cache; add `cache = {{ capacity_bytes = ... }}` to a stage"
            ),
        );
    }
    let section = section.get_ref();
    let mut settings = RouteCacheSettings {
        enabled: section.enabled.unwrap_or(true),
        ttl_seconds: ttl(&section.ttl, &where_, errors),
        require_authorization_for_invalidation: section.require_authorization.unwrap_or(true),
        ..RouteCacheSettings::default()
    };
    for parameter in &section.key_parameters {
        let text = parameter.get_ref();
        match CacheKeySpec::parse(std::slice::from_ref(text), "") {
            Err(_) => errors.at(
                Some(parameter.span().start),
                format!("{where_}: key parameter `{text}` must be method.request.path.NAME, method.request.querystring.NAME or method.request.header.NAME"),
            ),
            Ok(_) => {
                if let Some(name) = text.strip_prefix("method.request.path.") {
                    if !has_path_param(key, name) {
                        errors.at(
                            Some(parameter.span().start),
                            format!("{where_}: key parameter `{text}`: the route has no path parameter `{{{name}}}`"),
                        );
                    }
                }
                settings.key_parameters.push(text.clone());
            }
        }
    }
    if let Some(methods) = &section.methods {
        settings.methods.clear();
        for method in methods {
            let m = method.get_ref();
            let known = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
            if !known.contains(&m.as_str()) {
                errors.at(
                    Some(method.span().start),
                    format!("{where_}: `{m}` is not a method (use {})", known.join(", ")),
                );
            } else if key.method.as_ref().is_some_and(|rm| rm.as_str() != m) {
                errors.at(
                    Some(method.span().start),
                    format!("{where_}: the route never receives `{m}`"),
                );
            }
            settings.methods.push(m.clone());
        }
    }
    if let Some(strategy) = &section.unauthorized_strategy {
        settings.unauthorized_strategy = match strategy.get_ref().as_str() {
            "FAIL_WITH_403" => UnauthorizedStrategy::FailWith403,
            "SUCCEED_WITH_RESPONSE_HEADER" => UnauthorizedStrategy::SucceedWithResponseHeader,
            "SUCCEED_WITHOUT_RESPONSE_HEADER" => UnauthorizedStrategy::SucceedWithoutResponseHeader,
            other => {
                errors.at(
                    Some(strategy.span().start),
                    format!("{where_}: `unauthorized_strategy = \"{other}\"` must be FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER or SUCCEED_WITHOUT_RESPONSE_HEADER"),
                );
                UnauthorizedStrategy::default()
            }
        };
    }
    (errors.list.len() == before).then_some(settings)
}

/// A TTL written as a duration: whole seconds from `0s` to `3600s`.
fn ttl(value: &Option<Spanned<String>>, where_: &str, errors: &mut Errors<'_>) -> Option<u32> {
    let value = value.as_ref()?;
    let at = Some(value.span().start);
    match parse_duration(value.get_ref()) {
        Ok(d) if d.subsec_nanos() != 0 => {
            errors.at(at, format!("{where_}: `ttl` must be whole seconds"));
            None
        }
        Ok(d) if d.as_secs() > u64::from(MAX_TTL_SECONDS) => {
            errors.at(
                at,
                format!("{where_}: `ttl` must be at most 3600s (API Gateway's maximum)"),
            );
            None
        }
        Ok(d) => u32::try_from(d.as_secs()).ok(),
        Err(e) => {
            errors.at(at, format!("{where_}: `ttl`: {e}"));
            None
        }
    }
}

fn has_path_param(key: &RouteKey, name: &str) -> bool {
    key.path.iter().flatten().any(|segment| match segment {
        Segment::Param(p) | Segment::Greedy(p) => p == name,
        Segment::Literal(_) => false,
    })
}
