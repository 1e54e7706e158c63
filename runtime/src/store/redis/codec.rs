//! How store keys, expiry instants and Redis errors translate to and from Redis.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::RedisError;

use crate::store::StoreError;

pub(super) fn unavailable() -> StoreError {
    StoreError::Unavailable("Redis is unreachable".to_owned())
}

pub(super) fn refused(key: &str, expected: &'static str, e: RedisError) -> StoreError {
    let text = e.to_string();
    if e.code() == Some("WRONGTYPE") || text.contains("WRONGTYPE") {
        let found = if expected == "record" {
            "counter"
        } else {
            "record"
        };
        return StoreError::WrongType {
            key: key.to_owned(),
            expected,
            found,
        };
    }
    if text.contains("overflow") {
        return StoreError::Overflow(key.to_owned());
    }
    StoreError::Backend(format!("Redis refused an operation on `{key}`: {text}"))
}

/// Milliseconds since the epoch for PEXPIREAT, or '' for no expiry.
pub(super) fn expiry_ms(at: Option<SystemTime>) -> String {
    match at {
        // An instant before the epoch has long passed: expire at once.
        Some(at) => at
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_millis().max(1))
            .to_string(),
        None => String::new(),
    }
}

/// `text` with SCAN's glob characters escaped, so a prefix matches only itself.
pub(super) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
