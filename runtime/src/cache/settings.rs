//! Stage and route cache settings, and what a `Cache-Control: max-age=0` request gets.

use std::time::Duration;

use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use super::error::CacheError;
use super::key::CacheKeySpec;

/// API Gateway's default time to live, in seconds.
pub const DEFAULT_TTL_SECONDS: u32 = 300;
/// API Gateway's longest time to live, in seconds.
pub const MAX_TTL_SECONDS: u32 = 3600;
/// API Gateway's smallest cache cluster (0.5 GB), the default capacity.
pub const DEFAULT_CAPACITY_BYTES: u64 = 500_000_000;

/// The header API Gateway adds when it ignores an unauthorized invalidation request.
pub const IGNORED_INVALIDATION_WARNING: (&str, &str) = (
    "warning",
    "199 Cache-control headers were ignored because the caller was unauthorized.",
);

/// A stage's cache.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageCacheSettings {
    /// The most bytes (keys, headers, bodies) the cache holds.
    #[serde(default = "default_capacity")]
    pub capacity_bytes: u64,
    /// TTL for routes that set none; 0 disables caching, at most 3600.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u32,
}

impl Default for StageCacheSettings {
    fn default() -> Self {
        StageCacheSettings {
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            ttl_seconds: DEFAULT_TTL_SECONDS,
        }
    }
}

/// What API Gateway does with an unauthorized `Cache-Control: max-age=0` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum UnauthorizedStrategy {
    /// Refuse the request with 403.
    #[serde(rename = "FAIL_WITH_403")]
    FailWith403,
    /// Serve it (from the cache as usual) and add a `Warning` header.
    #[default]
    #[serde(rename = "SUCCEED_WITH_RESPONSE_HEADER")]
    SucceedWithResponseHeader,
    /// Serve it (from the cache as usual) silently.
    #[serde(rename = "SUCCEED_WITHOUT_RESPONSE_HEADER")]
    SucceedWithoutResponseHeader,
}

/// Caching settings of one route.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteCacheSettings {
    /// Whether responses of this route are cached at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// TTL in seconds; the stage's when absent; 0 disables caching, at most 3600.
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    /// Request parameters that split entries, as
    /// `method.request.{path|querystring|header}.NAME`.
    #[serde(default)]
    pub key_parameters: Vec<String>,
    /// Methods whose responses are cached; GET only by default.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Whether `Cache-Control: max-age=0` needs the caller to be authorized to invalidate.
    #[serde(default = "default_true")]
    pub require_authorization_for_invalidation: bool,
    /// What happens to unauthorized invalidation requests.
    #[serde(default)]
    pub unauthorized_strategy: UnauthorizedStrategy,
}

impl Default for RouteCacheSettings {
    fn default() -> Self {
        RouteCacheSettings {
            enabled: true,
            ttl_seconds: None,
            key_parameters: Vec::new(),
            methods: default_methods(),
            require_authorization_for_invalidation: true,
            unauthorized_strategy: UnauthorizedStrategy::default(),
        }
    }
}

/// What to do with a request, given its `Cache-Control` and the caller's authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidationDecision {
    /// No invalidation asked for: look the response up as usual.
    Lookup,
    /// Drop the entry and fetch a fresh response from the integration.
    Invalidate,
    /// Answer 403 (`FAIL_WITH_403`).
    Forbidden,
    /// Ignore the header and look up as usual; add the `Warning` header when `warn`.
    Ignore {
        /// Whether to add [`IGNORED_INVALIDATION_WARNING`].
        warn: bool,
    },
}

impl StageCacheSettings {
    /// Checks the settings; `path` prefixes every error's location.
    pub fn validate(&self, path: &str) -> Result<(), Vec<CacheError>> {
        let mut errors = Vec::new();
        if self.capacity_bytes == 0 {
            errors.push(CacheError::ZeroCapacity {
                path: format!("{path}.capacity_bytes"),
            });
        }
        check_ttl(&mut errors, path, Some(self.ttl_seconds));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The default TTL.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.ttl_seconds.min(MAX_TTL_SECONDS)))
    }
}

impl RouteCacheSettings {
    /// Checks the settings and parses the key parameters; returns every error found.
    pub fn validate(&self, path: &str) -> Result<CacheKeySpec, Vec<CacheError>> {
        let mut errors = Vec::new();
        check_ttl(&mut errors, path, self.ttl_seconds);
        for (i, method) in self.methods.iter().enumerate() {
            if method.parse::<Method>().is_err() || method.chars().any(|c| c.is_lowercase()) {
                errors.push(CacheError::BadMethod {
                    path: format!("{path}.methods[{i}]"),
                    method: method.clone(),
                });
            }
        }
        let spec = CacheKeySpec::parse(&self.key_parameters, &format!("{path}.key_parameters"));
        match spec {
            Ok(spec) if errors.is_empty() => Ok(spec),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// Whether responses to `method` are cached.
    pub fn caches_method(&self, method: &Method) -> bool {
        self.enabled && self.methods.iter().any(|m| m == method.as_str())
    }

    /// The route's TTL, falling back to the stage's.
    pub fn ttl(&self, stage: &StageCacheSettings) -> Duration {
        match self.ttl_seconds {
            Some(ttl) => Duration::from_secs(u64::from(ttl.min(MAX_TTL_SECONDS))),
            None => stage.ttl(),
        }
    }

    /// API Gateway's rule for `Cache-Control: max-age=0`.
    pub fn decide_invalidation(&self, requested: bool, authorized: bool) -> InvalidationDecision {
        if !requested {
            return InvalidationDecision::Lookup;
        }
        if authorized || !self.require_authorization_for_invalidation {
            return InvalidationDecision::Invalidate;
        }
        match self.unauthorized_strategy {
            UnauthorizedStrategy::FailWith403 => InvalidationDecision::Forbidden,
            UnauthorizedStrategy::SucceedWithResponseHeader => {
                InvalidationDecision::Ignore { warn: true }
            }
            UnauthorizedStrategy::SucceedWithoutResponseHeader => {
                InvalidationDecision::Ignore { warn: false }
            }
        }
    }
}

/// Whether the request carries `Cache-Control: max-age=0`.
pub fn requests_invalidation(headers: &HeaderMap) -> bool {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| {
            directive
                .trim()
                .split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("max-age") && v.trim() == "0")
        })
}

/// The `Warning` header for [`InvalidationDecision::Ignore`] with `warn`.
pub fn ignored_invalidation_header() -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(IGNORED_INVALIDATION_WARNING.0),
        HeaderValue::from_static(IGNORED_INVALIDATION_WARNING.1),
    )
}

fn check_ttl(errors: &mut Vec<CacheError>, path: &str, ttl: Option<u32>) {
    if let Some(ttl) = ttl.filter(|t| *t > MAX_TTL_SECONDS) {
        errors.push(CacheError::TtlTooLong {
            path: format!("{path}.ttl_seconds"),
            ttl,
        });
    }
}

fn default_true() -> bool {
    true
}

fn default_ttl() -> u32 {
    DEFAULT_TTL_SECONDS
}

fn default_capacity() -> u64 {
    DEFAULT_CAPACITY_BYTES
}

fn default_methods() -> Vec<String> {
    vec!["GET".to_owned()]
}
