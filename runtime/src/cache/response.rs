//! [`CachedResponse`]: what the cache stores, and what it weighs.

use bytes::Bytes;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// API Gateway does not cache items larger than this.
pub const MAX_ITEM_BYTES: usize = 1024 * 1024;

/// Bookkeeping bytes charged per entry on top of its key, headers and body.
const ENTRY_OVERHEAD: usize = 64;

/// A response as stored in (and served from) the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The status code.
    pub status: StatusCode,
    /// Response headers, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

impl CachedResponse {
    /// A response with no headers.
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Self {
        CachedResponse::with_headers(status, Vec::new(), body)
    }

    /// A response with its headers, in order.
    pub fn with_headers(
        status: StatusCode,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: impl Into<Bytes>,
    ) -> Self {
        CachedResponse {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The headers as a map, in order, with room for the few every response gets added
    /// (request id, trace id).
    pub fn header_map(&self) -> HeaderMap {
        // Built per hit rather than cloned from a kept map: a clone has no spare room, so the
        // request and trace id headers every response gets made it grow and rehash.
        let mut map = HeaderMap::with_capacity(self.headers.len() + 3);
        for (name, value) in &self.headers {
            map.append(name.clone(), value.clone());
        }
        map
    }

    /// Bytes of headers and body.
    pub fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len())
            .sum();
        headers + self.body.len()
    }

    /// Only successful responses no larger than [`MAX_ITEM_BYTES`] are cached.
    pub fn is_cacheable(&self) -> bool {
        self.status.is_success() && self.size() <= MAX_ITEM_BYTES
    }
}

/// The weight of an entry in bytes: key, headers, body and a fixed overhead.
pub(crate) fn weight(key_len: usize, response: &CachedResponse) -> u32 {
    u32::try_from(key_len + response.size() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}
