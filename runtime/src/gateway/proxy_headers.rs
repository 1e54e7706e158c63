//! What the HTTP proxy leaves behind at each hop: hop-by-hop headers, both ways — the fixed
//! ones and those a `Connection` header names (RFC 9110 §7.6.1) — and how an upstream
//! failure reads in the log.

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};
use smallvec::SmallVec;

/// Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1);
/// `Host` is set for the upstream rather than copied.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];

/// Whether `name` is one of the fixed hop-by-hop headers.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || name.as_str() == "keep-alive"
}

/// Whether a `Connection` header of `headers` names a header other than `Keep-Alive`
/// (dropped anyway); `close` and `keep-alive`, the usual values, name none.
fn connection_names_others(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|value| {
        connection_tokens(value.as_bytes()).any(|token| {
            !token.eq_ignore_ascii_case(b"close") && !token.eq_ignore_ascii_case(b"keep-alive")
        })
    })
}

/// Whether `name` is listed in one of `headers`' `Connection` headers.
fn is_named_by_connection(headers: &HeaderMap, name: &HeaderName) -> bool {
    let name = name.as_str().as_bytes();
    headers
        .get_all(header::CONNECTION)
        .iter()
        .any(|value| connection_tokens(value.as_bytes()).any(|t| t.eq_ignore_ascii_case(name)))
}

/// The comma-separated tokens of one `Connection` header value.
fn connection_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|b| *b == b',').map(<[u8]>::trim_ascii)
}

/// Appends `from`'s end-to-end headers to `to` — neither the hop-by-hop ones nor those
/// `from`'s `Connection` header names — except `replaced`, whose first value it returns
/// for the caller to build its own from.
pub(super) fn copy_end_to_end<'a>(
    from: &'a HeaderMap,
    to: &mut HeaderMap,
    replaced: &HeaderName,
) -> Option<&'a HeaderValue> {
    // A scan of the names instead of a lookup: most requests have no `Connection` header.
    let named = from.keys().any(|n| n == header::CONNECTION) && connection_names_others(from);
    let mut prior = None;
    for (name, value) in from {
        if name == replaced {
            prior = prior.or(Some(value));
            continue;
        }
        let dropped = is_hop_by_hop(name) || named && is_named_by_connection(from, name);
        if !dropped {
            to.append(name.clone(), value.clone());
        }
    }
    prior
}

/// Keeps the upstream's own header map (no copy) minus its hop-by-hop headers and those
/// its `Connection` header names.
pub(super) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // The usual response has none (a `Connection` header is one): one scan, no lookups.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    strip_hop_by_hop(headers);
}

#[cold]
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named = connection_names_others(headers);
    let found: SmallVec<[HeaderName; 4]> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n) || named && is_named_by_connection(headers, n))
        .cloned()
        .collect();
    for name in found {
        headers.remove(name);
    }
}

/// Whether the request body went over its limit (somewhere in the error's sources).
pub(super) fn is_body_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The error's message followed by those of its sources.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}
