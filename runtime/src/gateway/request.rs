//! What the pipeline knows about an incoming request once it is routed and its body read.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method};

/// A routed request with its body, ready to become an event.
pub struct GatewayRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The full raw path as sent, percent-encoded (`/dev/echo/a%20b`).
    pub raw_path: &'a str,
    /// The path within the stage (`/echo/a%20b`).
    pub stage_path: &'a str,
    /// The raw query string without `?` (empty when none).
    pub raw_query: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: Bytes,
    /// `HTTP/1.1`.
    pub protocol: &'static str,
    /// The client's address.
    pub source_ip: String,
    /// The gateway's request id.
    pub request_id: &'a str,
    /// Request time in milliseconds since the Unix epoch.
    pub time_epoch_ms: u64,
    /// The matched route key (`GET /hello/{name}`), or `$default`.
    pub route_key: &'a str,
    /// The matched resource (`/hello/{name}`).
    pub resource: &'a str,
    /// Decoded path parameters.
    pub path_parameters: Vec<(String, String)>,
    /// The stage's name.
    pub stage: &'a str,
    /// The stage's variables.
    pub stage_variables: &'a BTreeMap<String, String>,
    /// The API's id.
    pub api_id: &'a str,
    /// What the authorizer established, for `requestContext.authorizer`.
    pub authorizer: Option<&'a crate::auth::AuthContext>,
}

impl GatewayRequest<'_> {
    /// `Host` header, or `localhost`.
    pub fn domain_name(&self) -> &str {
        self.headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
    }

    /// The first label of the domain name.
    pub fn domain_prefix(&self) -> &str {
        let domain = self.domain_name();
        // Up to the first `:` (port) or `.` (next label), whichever comes first.
        let end = domain
            .bytes()
            .position(|b| b == b':' || b == b'.')
            .unwrap_or(domain.len());
        &domain[..end]
    }

    /// `User-Agent` header, if any.
    pub fn user_agent(&self) -> Option<&str> {
        self.headers
            .get(http::header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
    }

    /// The body as API Gateway passes it: text, or base64 for binary content.
    /// `None` when the request has no body.
    pub fn event_body(&self) -> (Option<String>, bool) {
        if self.body.is_empty() {
            return (None, false);
        }
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok());
        if is_text(content_type) {
            if let Ok(text) = std::str::from_utf8(&self.body) {
                return (Some(text.to_owned()), false);
            }
        }
        use base64::Engine;
        (
            Some(base64::engine::general_purpose::STANDARD.encode(&self.body)),
            true,
        )
    }

    /// Query parameters, decoded, in order of appearance.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.raw_query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Query parameters, decoded, grouped by name in order of appearance.
    pub fn query_multimap(&self) -> std::collections::HashMap<String, Vec<String>> {
        let mut query: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (k, v) in self.query_pairs() {
            query.entry(k).or_default().push(v);
        }
        query
    }

    /// The stage variables as the events carry them.
    pub fn stage_variables_map(&self) -> std::collections::HashMap<String, String> {
        self.stage_variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `12/Mar/2020:19:03:58 +0000`, API Gateway's request time format.
    pub fn request_time(&self) -> String {
        crate::observe::timefmt::clf(self.time_epoch_ms)
    }
}

/// Whether a content type is text that API Gateway passes without base64.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.ends_with("/json")
        || ct.ends_with("+json")
        || ct.ends_with("/xml")
        || ct.ends_with("+xml")
        || ct == "application/javascript"
        || ct == "application/x-www-form-urlencoded"
        || ct == "application/graphql"
        || ct == "application/yaml"
}

/// The client address as text, as `sourceIp` carries it.
///
/// IPv4 is written by hand: `Ipv4Addr`'s `Display` goes through the formatting machinery,
/// which costs more than the rest of this field on every request.
pub fn source_ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

#[cfg(test)]
mod source_ip_tests {
    use super::source_ip_text;

    #[test]
    fn writes_addresses_as_display_does() {
        for text in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "10.20.100.9",
            "::1",
            "2001:db8::7",
        ] {
            let ip: std::net::IpAddr = text.parse().unwrap();
            assert_eq!(source_ip_text(ip), ip.to_string());
        }
    }
}
