//! Lambda proxy responses (formats 1.0 and 2.0) into HTTP responses. Anything malformed is a
//! 502, as API Gateway answers it.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as EventBody;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value};

use crate::config::ApiKind;
use crate::invoke::Payload;

/// A response ready to send, before the gateway adds its own headers.
#[derive(Debug)]
pub struct ProxyResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers the function set.
    pub headers: HeaderMap,
    /// Decoded body.
    pub body: Bytes,
}

/// Why a function's response could not be used.
#[derive(Debug, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct MalformedResponse(pub String);

/// Maps a function's result to an HTTP response, per the API's payload format.
pub fn map(kind: ApiKind, payload: Payload) -> Result<ProxyResponse, MalformedResponse> {
    // A typed response is taken apart, not copied: its headers and body move into the reply.
    let payload = match payload.take::<ApiGatewayV2httpResponse>() {
        Ok(r) => {
            let mut headers = merge(r.headers, &r.multi_value_headers);
            for cookie in &r.cookies {
                let value = HeaderValue::from_str(cookie)
                    .map_err(|_| bad("cookie is not a valid header value"))?;
                headers.append(http::header::SET_COOKIE, value);
            }
            return finish(r.status_code, headers, r.body, r.is_base64_encoded);
        }
        Err(payload) => payload,
    };
    let payload = match payload.take::<ApiGatewayProxyResponse>() {
        Ok(r) => {
            let headers = merge(r.headers, &r.multi_value_headers);
            return finish(r.status_code, headers, r.body, r.is_base64_encoded);
        }
        Err(payload) => payload,
    };
    let value = payload.into_value().map_err(|e| bad(&e.to_string()))?;
    match (kind, value) {
        (_, Value::Object(map)) if map.contains_key("statusCode") => from_object(kind, map),
        (ApiKind::Http, Value::String(text)) => Ok(json_200(Bytes::from(text))),
        (ApiKind::Http, other) => {
            let body = serde_json::to_vec(&other).map_err(|e| bad(&e.to_string()))?;
            Ok(json_200(Bytes::from(body)))
        }
        (ApiKind::Rest, _) => Err(bad("a REST API proxy response needs a statusCode")),
    }
}

fn json_200(body: Bytes) -> ProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    ProxyResponse {
        status: StatusCode::OK,
        headers,
        body,
    }
}

fn from_object(
    kind: ApiKind,
    mut map: Map<String, Value>,
) -> Result<ProxyResponse, MalformedResponse> {
    let status = match map.get("statusCode") {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| bad("statusCode must be an integer"))?,
        // API Gateway accepts a numeric string for statusCode.
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| bad("statusCode must be an integer"))?,
        _ => return Err(bad("statusCode must be an integer")),
    };
    let mut headers = HeaderMap::new();
    if let Some(h) = map.remove("headers") {
        for (name, value) in object(h, "headers")? {
            let value = scalar_text(&value).ok_or_else(|| bad("header values must be strings"))?;
            headers.insert(header_name(&name)?, header_value(&value)?);
        }
    }
    if let Some(h) = map.remove("multiValueHeaders") {
        for (name, values) in object(h, "multiValueHeaders")? {
            let name = header_name(&name)?;
            let Value::Array(values) = values else {
                return Err(bad("multiValueHeaders values must be arrays"));
            };
            headers.remove(&name);
            for v in values {
                let text = scalar_text(&v).ok_or_else(|| bad("header values must be strings"))?;
                headers.append(name.clone(), header_value(&text)?);
            }
        }
    }
    if kind == ApiKind::Http {
        if let Some(cookies) = map.remove("cookies") {
            let Value::Array(cookies) = cookies else {
                return Err(bad("cookies must be an array of strings"));
            };
            for c in cookies {
                let Value::String(c) = c else {
                    return Err(bad("cookies must be an array of strings"));
                };
                headers.append(http::header::SET_COOKIE, header_value(&c)?);
            }
        }
    }
    let is_base64 = match map.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isBase64Encoded must be a boolean")),
    };
    let body = match map.remove("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(EventBody::Text(s)),
        Some(_) => return Err(bad("body must be a string")),
    };
    finish(status, headers, body, is_base64)
}

fn finish(
    status: i64,
    headers: HeaderMap,
    body: Option<EventBody>,
    is_base64: bool,
) -> Result<ProxyResponse, MalformedResponse> {
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| bad("statusCode must be between 100 and 599"))?;
    let body = match body {
        None | Some(EventBody::Empty) => Bytes::new(),
        Some(EventBody::Binary(b)) => Bytes::from(b),
        Some(EventBody::Text(t)) if is_base64 => {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(t.as_bytes())
                .map_err(|_| bad("isBase64Encoded is true but the body is not base64"))?;
            Bytes::from(decoded)
        }
        Some(EventBody::Text(t)) => Bytes::from(t),
        Some(_) => return Err(bad("unsupported body kind")),
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

/// The single-value headers, with any multi-value header replacing its name's values.
fn merge(mut headers: HeaderMap, multi: &HeaderMap) -> HeaderMap {
    for name in multi.keys() {
        headers.remove(name);
        for v in multi.get_all(name) {
            headers.append(name.clone(), v.clone());
        }
    }
    headers
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>, MalformedResponse> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(bad(&format!("{what} must be an object"))),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn header_name(name: &str) -> Result<HeaderName, MalformedResponse> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| bad(&format!("`{name}` is not a valid header name")))
}

fn header_value(value: &str) -> Result<HeaderValue, MalformedResponse> {
    HeaderValue::from_str(value).map_err(|_| bad("a header value is not valid"))
}

fn bad(what: &str) -> MalformedResponse {
    MalformedResponse(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_without_status_code_is_a_json_200() {
        let r = map(ApiKind::Http, Payload::Json(json!({"a": 1}))).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], br#"{"a":1}"#);
    }

    #[test]
    fn v1_needs_status_code_and_rejects_bad_shapes() {
        assert!(map(ApiKind::Rest, Payload::Json(json!({"body": "x"}))).is_err());
        assert!(map(ApiKind::Rest, Payload::Json(json!({"statusCode": "abc"}))).is_err());
        assert!(map(
            ApiKind::Rest,
            Payload::Json(json!({"statusCode": 200, "body": 5}))
        )
        .is_err());
        assert!(map(ApiKind::Http, Payload::Json(json!({"statusCode": 99}))).is_err());
        let ok = map(
            ApiKind::Rest,
            Payload::Json(
                json!({"statusCode": 201, "body": "aGk=", "isBase64Encoded": true,
            "multiValueHeaders": {"x-a": ["1", "2"]}}),
            ),
        )
        .unwrap();
        assert_eq!(ok.status, 201);
        assert_eq!(&ok.body[..], b"hi");
        assert_eq!(ok.headers.get_all("x-a").iter().count(), 2);
    }
}
