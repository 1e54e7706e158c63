//! CORS: preflights answered by the gateway, and the allow headers on every response.

use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// An API's CORS configuration, validated.
#[derive(Debug, Clone, Default)]
pub struct CorsConfig {
    /// Allowed origins, or `*`.
    pub allow_origins: Vec<String>,
    /// Allowed methods, uppercase (empty: all).
    pub allow_methods: Vec<String>,
    /// Allowed request headers, lowercase.
    pub allow_headers: Vec<String>,
    /// Headers exposed to the page.
    pub expose_headers: Vec<String>,
    /// `Access-Control-Max-Age`.
    pub max_age: Option<u32>,
    /// `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
}

impl CorsConfig {
    /// The value for `Access-Control-Allow-Origin`, when `origin` is allowed.
    fn allowed_origin<'a>(&'a self, origin: &'a str) -> Option<&'a str> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*");
        }
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then_some(origin)
    }

    /// Whether a request is a preflight this config answers.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(http::header::ORIGIN)
            && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The preflight answer: 204 with the allow headers, or 204 without them when the
    /// origin, method or headers are not allowed (the browser then blocks the request).
    pub fn preflight(&self, headers: &HeaderMap) -> (StatusCode, HeaderMap) {
        let mut out = HeaderMap::new();
        let origin = header(headers, http::header::ORIGIN);
        let method = header(headers, http::header::ACCESS_CONTROL_REQUEST_METHOD);
        let requested = header(headers, http::header::ACCESS_CONTROL_REQUEST_HEADERS);
        let Some(allow_origin) = self.allowed_origin(origin) else {
            return (StatusCode::NO_CONTENT, out);
        };
        let method_ok = self.allow_methods.is_empty()
            || self
                .allow_methods
                .iter()
                .any(|m| m == "*" || m.eq_ignore_ascii_case(method));
        let headers_ok = requested
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .all(|h| {
                self.allow_headers
                    .iter()
                    .any(|a| a == "*" || a.eq_ignore_ascii_case(h))
            });
        if !method_ok || !headers_ok {
            return (StatusCode::NO_CONTENT, out);
        }
        let out_ref = &mut out;
        insert(out_ref, "access-control-allow-origin", allow_origin);
        let methods = if self.allow_methods.is_empty() {
            "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS".to_owned()
        } else {
            self.allow_methods.join(",")
        };
        insert(out_ref, "access-control-allow-methods", &methods);
        if !self.allow_headers.is_empty() {
            insert(
                out_ref,
                "access-control-allow-headers",
                &self.allow_headers.join(","),
            );
        }
        if let Some(age) = self.max_age {
            out_ref.insert("access-control-max-age", HeaderValue::from(age));
        }
        self.common(out_ref, allow_origin);
        (StatusCode::NO_CONTENT, out)
    }

    /// Adds the CORS headers of a simple (non-preflight) response, errors included; a
    /// preflight's answer is complete as [`CorsConfig::preflight`] made it.
    pub fn decorate(&self, method: &Method, request: &HeaderMap, response: &mut HeaderMap) {
        let origin = header(request, http::header::ORIGIN);
        if origin.is_empty() || Self::is_preflight(method, request) {
            return;
        }
        if let Some(allow_origin) = self.allowed_origin(origin) {
            insert(response, "access-control-allow-origin", allow_origin);
            if !self.expose_headers.is_empty() {
                insert(
                    response,
                    "access-control-expose-headers",
                    &self.expose_headers.join(","),
                );
            }
            self.common(response, allow_origin);
        }
    }

    fn common(&self, out: &mut HeaderMap, allow_origin: &str) {
        if self.allow_credentials {
            out.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
        if allow_origin != "*" {
            out.append(http::header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

fn header(headers: &HeaderMap, name: http::header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn insert(out: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        out.insert(name, v);
    }
}
