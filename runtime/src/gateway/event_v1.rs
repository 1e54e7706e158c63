//! The payload format 1.0 event of REST APIs, built directly as `aws_lambda_events`' type.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::query_map::QueryMap;
use http::HeaderMap;
use serde_json::Value;

use super::request::GatewayRequest;
use crate::invoke::ACCOUNT_ID;

/// Builds the v1 event: `headers` with each header's last value, `multiValueHeaders` with all.
///
/// Like the v2 event, it is large (1,376 bytes) and built in the Box that carries it to the
/// handler, so it is not copied on the way.
pub fn build(req: &GatewayRequest<'_>) -> Box<ApiGatewayProxyRequest> {
    let mut event = Box::<ApiGatewayProxyRequest>::default();
    event.headers = HeaderMap::with_capacity(req.headers.keys_len());
    for name in req.headers.keys() {
        if let Some(last) = req.headers.get_all(name).iter().next_back() {
            event.headers.insert(name.clone(), last.clone());
        }
    }
    let query = req.query_multimap();
    let (body, is_base64_encoded) = req.event_body();

    let identity = &mut event.request_context.identity;
    identity.source_ip = Some(req.source_ip.clone());
    identity.user_agent = req.user_agent().map(String::from);
    if let Some(auth) = req.authorizer {
        crate::auth::event::v1_identity(auth, identity);
    }

    let ctx = &mut event.request_context;
    ctx.account_id = Some(ACCOUNT_ID.to_owned());
    ctx.resource_id = Some(resource_id(req.resource));
    ctx.stage = Some(req.stage.to_owned());
    ctx.domain_name = Some(req.domain_name().to_owned());
    ctx.domain_prefix = Some(req.domain_prefix().to_owned());
    ctx.request_id = Some(req.request_id.to_owned());
    ctx.protocol = Some(req.protocol.to_owned());
    if let Some(auth) = req.authorizer {
        ctx.authorizer = crate::auth::event::v1(auth);
    }
    ctx.resource_path = Some(req.resource.to_owned());
    ctx.path = Some(req.raw_path.to_owned());
    ctx.http_method = req.method.clone();
    ctx.request_time = Some(req.request_time());
    ctx.request_time_epoch = req.time_epoch_ms as i64;
    ctx.apiid = Some(req.api_id.to_owned());

    event.resource = Some(req.resource.to_owned());
    event.path = Some(req.stage_path.to_owned());
    event.http_method = req.method.clone();
    event.multi_value_headers = req.headers.clone();
    event.query_string_parameters = QueryMap::from(
        query
            .iter()
            .map(|(k, vs)| (k.clone(), vs.last().into_iter().cloned().collect()))
            .collect::<HashMap<_, Vec<_>>>(),
    );
    event.multi_value_query_string_parameters = QueryMap::from(query);
    event.path_parameters = req.path_parameters.iter().cloned().collect();
    event.stage_variables = req.stage_variables_map();
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// The event as JSON exactly as API Gateway sends it: empty maps are `null`, and the request
/// context has the members the crate's type lacks.
pub fn to_json(event: &ApiGatewayProxyRequest) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(event)?;
    if let Value::Object(map) = &mut value {
        for key in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
        ] {
            if map
                .get(key)
                .is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
            {
                map.insert(key.to_owned(), Value::Null);
            }
        }
        map.entry("body").or_insert(Value::Null);
        if let Some(Value::Object(ctx)) = map.get_mut("requestContext") {
            let id = ctx.get("requestId").cloned().unwrap_or(Value::Null);
            ctx.insert("extendedRequestId".into(), id);
        }
    }
    Ok(value)
}

/// A stable 6-character resource id for a resource path, as API Gateway assigns one.
fn resource_id(resource: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in resource.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{:06x}", hash & 0xff_ffff)
}
