//! [`CacheError`]: problems in cache settings.

/// Invalid cache settings; `validate` functions return every one found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// A TTL above API Gateway's 3600-second maximum.
    #[error("{path}: ttl_seconds {ttl} exceeds the maximum of 3600")]
    TtlTooLong {
        /// Where in the settings.
        path: String,
        /// The TTL given.
        ttl: u32,
    },
    /// A zero cache capacity.
    #[error("{path}: capacity_bytes must be greater than 0")]
    ZeroCapacity {
        /// Where in the settings.
        path: String,
    },
    /// A cache key parameter that is not `method.request.{path|querystring|header}.NAME`.
    #[error("{path}: `{parameter}` is not method.request.path|querystring|header.NAME")]
    BadKeyParameter {
        /// Where in the settings.
        path: String,
        /// The parameter given.
        parameter: String,
    },
    /// A method name that is not an HTTP method.
    #[error("{path}: `{method}` is not an HTTP method")]
    BadMethod {
        /// Where in the settings.
        path: String,
        /// The method given.
        method: String,
    },
}
