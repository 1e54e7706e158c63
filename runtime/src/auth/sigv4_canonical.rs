//! The SigV4 canonical request and string to sign, built from the request as received.
//!
//! Hand-written (about 100 lines) rather than pulling in the AWS SDK's signer crates, which
//! bring the whole SDK runtime with them; the botocore test checks it against a real signer.

use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Hex SHA-256 of `bytes`.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else `%XX`
/// (uppercase); `/` kept when `keep_slash`.
fn uri_encode(bytes: &[u8], keep_slash: bool, out: &mut String) {
    for &b in bytes {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The canonical URI: the path as sent, encoded once more (services other than S3 sign the
/// already-encoded path, so `%20` is signed as `%2520`).
fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".into();
    }
    let mut out = String::with_capacity(raw_path.len());
    uri_encode(raw_path.as_bytes(), true, &mut out);
    out
}

/// The canonical query: every `name=value` decoded and re-encoded, sorted by name then value,
/// without the parameter named `skip` (a presigned request's signature).
fn canonical_query(raw_query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| skip.is_none() || p.split('=').next() != skip)
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let mut key = String::new();
            let mut value = String::new();
            let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
            uri_encode(&decode(k), false, &mut key);
            uri_encode(&decode(v), false, &mut value);
            (key, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header's values for signing: each trimmed with inner runs of spaces collapsed, joined
/// with `,`. `None` when the request does not carry the header.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let joined: Vec<String> = values
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    Some(joined.join(","))
}

/// What the canonical request is made of.
pub(super) struct CanonicalInput<'a> {
    pub method: &'a Method,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    /// A query parameter left out of the canonical query (`X-Amz-Signature` when presigned).
    pub skip_query_param: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The signed header names, lowercase, as the client listed them.
    pub signed_headers: &'a str,
    /// The payload hash: hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

/// The canonical request; `None` when a signed header is absent from the request.
pub(super) fn canonical_request(input: &CanonicalInput<'_>) -> Option<String> {
    let mut out = String::with_capacity(512);
    out.push_str(input.method.as_str());
    out.push('\n');
    out.push_str(&canonical_uri(input.raw_path));
    out.push('\n');
    out.push_str(&canonical_query(input.raw_query, input.skip_query_param));
    out.push('\n');
    for name in input.signed_headers.split(';') {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(input.headers, name)?);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(input.signed_headers);
    out.push('\n');
    out.push_str(input.payload_hash);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_sigv4() {
        assert_eq!(canonical_uri("/a b/%20"), "/a%20b/%2520");
        assert_eq!(
            canonical_query("b=2&a=x%2Fy&a=1&c", None),
            "a=1&a=x%2Fy&b=2&c="
        );
        assert_eq!(
            canonical_query("b=2&X-Amz-Signature=ab&a=1", Some("X-Amz-Signature")),
            "a=1&b=2"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
