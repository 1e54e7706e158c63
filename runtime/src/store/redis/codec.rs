//! How store keys, expiry instants and Redis errors translate to and from Redis.

use std::time::{SystemTime, UNIX_EPOCH};

use std::fmt;
use std::io::Write;

use redis::{RedisError, RedisWrite, ToRedisArgs};

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
    epoch_millis(at).map_or_else(String::new, |ms| ms.to_string())
}

/// Milliseconds since the epoch of `at`, at least 1.
fn epoch_millis(at: Option<SystemTime>) -> Option<u64> {
    // An instant before the epoch has long passed: expire at once.
    at.map(|at| {
        at.duration_since(UNIX_EPOCH).map_or(1, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        })
    })
}

/// An expiry as a command argument, as [`expiry_ms`] spells it, written without a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Expiry(pub(super) Option<SystemTime>);

impl ToRedisArgs for Expiry {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        match epoch_millis(self.0) {
            Some(ms) => ms.write_redis_args(out),
            None => out.write_arg(b""),
        }
    }
}

/// A store key under its namespace prefix, written into a command without building the
/// full name first.
#[derive(Clone, Copy)]
pub(super) struct FullKey<'a> {
    pub(super) prefix: &'a str,
    pub(super) key: &'a str,
}

impl ToRedisArgs for FullKey<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let mut arg = out.writer_for_next_arg();
        // Writing into a command's in-memory buffer cannot fail.
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(self.key.as_bytes());
    }
}

impl fmt::Display for FullKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        f.write_str(self.key)
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
