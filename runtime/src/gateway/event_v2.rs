//! The payload format 2.0 event of HTTP APIs, built directly as `aws_lambda_events`' type.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::query_map::QueryMap;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::request::GatewayRequest;
use crate::invoke::ACCOUNT_ID;

/// Builds the v2 event: headers lowercased and comma-joined, cookies split out. Takes the
/// request so its path parameters and source address move into the event uncopied.
///
/// The event is large (1,296 bytes): it is built in the Box that carries it to the
/// handler, field by field, so it is not copied on the way.
#[allow(deprecated)] // the crate's deprecated fields are simply left at their defaults
pub fn build(mut req: GatewayRequest<'_>) -> Box<ApiGatewayV2httpRequest> {
    let mut event = Box::<ApiGatewayV2httpRequest>::default();
    // Cloning the map is far cheaper than re-inserting each header; only repeated headers
    // (rare) need joining, and cookies move to their own member.
    event.headers = req.headers.clone();
    // Requests mostly carry no cookie: one lookup settles that.
    if event.headers.contains_key(http::header::COOKIE) {
        event.cookies = split_cookies(&mut event.headers);
    }
    if event.headers.len() != event.headers.keys_len() {
        join_repeated(&mut event.headers);
    }
    // HTTP APIs pass repeated query parameters comma-joined in one value. Without a query
    // the event keeps the empty map its default already holds.
    if !req.raw_query.is_empty() {
        event.query_string_parameters = QueryMap::from(
            req.query_multimap()
                .into_iter()
                .map(|(k, vs)| (k, vec![vs.join(",")]))
                .collect::<HashMap<String, Vec<String>>>(),
        );
    }
    let (body, is_base64_encoded) = req.event_body();

    let http = &mut event.request_context.http;
    http.method = req.method.clone();
    http.path = Some(req.raw_path.to_owned());
    http.protocol = Some(req.protocol.to_owned());
    http.source_ip = Some(std::mem::take(&mut req.source_ip));
    http.user_agent = req.user_agent().map(String::from);

    let ctx = &mut event.request_context;
    ctx.route_key = Some(req.route_key.to_owned());
    ctx.account_id = Some(ACCOUNT_ID.to_owned());
    ctx.stage = Some(req.stage.to_owned());
    ctx.request_id = Some(req.request_id.to_owned());
    ctx.apiid = Some(req.api_id.to_owned());
    ctx.domain_name = Some(req.domain_name().to_owned());
    ctx.domain_prefix = Some(req.domain_prefix().to_owned());
    ctx.time = Some(req.request_time());
    ctx.time_epoch = req.time_epoch_ms as i64;
    if let Some(authorizer) = req.authorizer {
        ctx.authorizer = Some(crate::auth::event::v2(authorizer));
    }

    event.http_method = req.method.clone();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(req.route_key.to_owned());
    event.raw_path = Some(req.raw_path.to_owned());
    event.raw_query_string = Some(req.raw_query.to_owned());
    event.path_parameters = std::mem::take(&mut req.path_parameters)
        .into_iter()
        .collect();
    if !req.stage_variables.is_empty() {
        event.stage_variables = req.stage_variables_map();
    }
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// Takes the `Cookie` headers out of `headers`, split into their cookies.
#[cold]
fn split_cookies(headers: &mut HeaderMap) -> Option<Vec<String>> {
    let mut cookies = Vec::new();
    for value in headers.get_all(http::header::COOKIE) {
        if let Ok(v) = value.to_str() {
            cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from),
            );
        }
    }
    headers.remove(http::header::COOKIE);
    (!cookies.is_empty()).then_some(cookies)
}

/// Joins each repeated header's values with commas into one value, as HTTP APIs send them.
#[cold]
fn join_repeated(headers: &mut HeaderMap) {
    let repeated: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| headers.get_all(*name).iter().nth(1).is_some())
        .cloned()
        .collect();
    for name in repeated {
        let mut joined = Vec::new();
        for (i, v) in headers.get_all(&name).iter().enumerate() {
            if i > 0 {
                joined.push(b',');
            }
            joined.extend_from_slice(v.as_bytes());
        }
        match HeaderValue::from_bytes(&joined) {
            Ok(v) => {
                headers.insert(name, v);
            }
            Err(_) => {
                headers.remove(name);
            }
        }
    }
}

/// The event as JSON exactly as API Gateway sends it: without the fields the crate's type
/// carries for other payloads (`type`, `methodArn`, `httpMethod`, ...), and without the
/// optional members API Gateway leaves out when empty.
pub fn to_json(event: &ApiGatewayV2httpRequest) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(event)?;
    if let Value::Object(map) = &mut value {
        for key in [
            "type",
            "methodArn",
            "httpMethod",
            "identitySource",
            "authorizationToken",
            "resource",
        ] {
            map.remove(key);
        }
        if map
            .get("stageVariables")
            .is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        {
            map.remove("stageVariables");
        }
    }
    Ok(value)
}
