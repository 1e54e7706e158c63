//! The store encoding of a cached response for the shared second level: a versioned binary
//! record that round-trips status, headers (in order, repeats kept) and body bytes exactly.
//!
//! Hand-written rather than JSON or a serde format: header values and bodies are arbitrary
//! bytes, which JSON would have to escape or base64, and the layout is small enough to check
//! completely. Layout (integers big-endian):
//!
//! ```text
//! "PCR" version(u8 = 1) expires_at_millis(u64) status(u16) header_count(u32)
//!   { name_len(u32) name value_len(u32) value } * header_count
//!   body_len(u32) body
//! ```
//!
//! Anything else — another magic, another version, a truncated or over-long record, an
//! invalid status or header — decodes to `None`, which the cache treats as a miss.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, StatusCode};

use super::response::{CachedResponse, MAX_ITEM_BYTES};

const MAGIC: &[u8; 3] = b"PCR";
/// The record format this build writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// A response with the absolute instant (epoch milliseconds on the stack's clock) it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRecord {
    /// When the entry's TTL ends.
    pub expires_at_millis: u64,
    /// The response.
    pub response: CachedResponse,
}

impl SharedRecord {
    /// The record's bytes in the current format.
    pub fn encode(&self) -> Bytes {
        let response = &self.response;
        let mut out = BytesMut::with_capacity(32 + response.size() + 8 * response.headers.len());
        out.put_slice(MAGIC);
        out.put_u8(RECORD_VERSION);
        out.put_u64(self.expires_at_millis);
        out.put_u16(response.status.as_u16());
        out.put_u32(len32(response.headers.len()));
        for (name, value) in &response.headers {
            put_bytes(&mut out, name.as_str().as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        put_bytes(&mut out, &response.body);
        out.freeze()
    }

    /// Decodes a record; `None` for anything that is not exactly a current-format record of
    /// at most [`MAX_ITEM_BYTES`] of headers and body.
    pub fn decode(bytes: &Bytes) -> Option<SharedRecord> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(3)? != MAGIC || reader.u8()? != RECORD_VERSION {
            return None;
        }
        let expires_at_millis = reader.u64()?;
        let status = StatusCode::from_u16(reader.u16()?).ok()?;
        let count = reader.u32()? as usize;
        // Each header takes at least 8 bytes, so a forged count cannot make us allocate much.
        if count > bytes.len() / 8 {
            return None;
        }
        let mut headers = Vec::with_capacity(count);
        for _ in 0..count {
            let name = HeaderName::from_bytes(reader.sized()?).ok()?;
            let value = HeaderValue::from_bytes(reader.sized()?).ok()?;
            headers.push((name, value));
        }
        let body_len = reader.u32()? as usize;
        let start = reader.at;
        reader.take(body_len)?;
        if reader.at != bytes.len() {
            return None;
        }
        let response =
            CachedResponse::with_headers(status, headers, bytes.slice(start..start + body_len));
        (response.size() <= MAX_ITEM_BYTES).then_some(SharedRecord {
            expires_at_millis,
            response,
        })
    }
}

fn len32(len: usize) -> u32 {
    // Cached items are at most MAX_ITEM_BYTES, far below u32::MAX.
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(len32(bytes.len()));
    out.put_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }

    fn sized(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}
