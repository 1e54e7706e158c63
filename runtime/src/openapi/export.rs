//! An API → OpenAPI 3 with API Gateway's extensions, shaped like API Gateway's own
//! `oas30` export with `extensions=integrations,authorizers,validators`.

use serde_json::{json, Map, Value};

use super::arn;
use crate::config::schema::{ApiSection, RouteSection};
use crate::config::{ApiKind, RouteKey, Segment};

/// The export of one stage: `document` (see [`document`]) with its `servers` entry.
pub fn export(document: &Value, stage: &str) -> Value {
    let mut out = document.clone();
    let base = if stage == "$default" {
        String::new()
    } else {
        format!("/{stage}")
    };
    if let Some(map) = out.as_object_mut() {
        map.insert(
            "servers".into(),
            json!([{
                "url": "https://{restapi_id}.execute-api.{region}.amazonaws.com/{basePath}",
                "variables": {
                    "basePath": {"default": base},
                    "restapi_id": {"default": "localhost"},
                    "region": {"default": crate::invoke::REGION},
                }
            }]),
        );
    }
    out
}

/// The document of an API as configured, without `servers`.
pub(crate) fn document(name: &str, kind: ApiKind, section: &ApiSection) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut validators: Map<String, Value> = Map::new();
    let mut needs_api_key = false;
    for route in &section.routes {
        let Ok(key) = RouteKey::parse(route.route.get_ref()) else {
            continue;
        };
        let (path, method) = match (&key.path, &key.method) {
            (None, _) => (
                "$default".to_owned(),
                "x-amazon-apigateway-any-method".to_owned(),
            ),
            (Some(_), None) => (
                key.resource.clone(),
                "x-amazon-apigateway-any-method".to_owned(),
            ),
            (Some(_), Some(m)) => (key.resource.clone(), m.as_str().to_ascii_lowercase()),
        };
        let mut op = Map::new();
        let mut parameters: Vec<Value> = key
            .path
            .iter()
            .flatten()
            .filter_map(|s| match s {
                Segment::Param(n) | Segment::Greedy(n) => Some(n.clone()),
                Segment::Literal(_) => None,
            })
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(validate) = &route.validate {
            let v = validate.get_ref();
            for p in &v.parameters {
                let Some((place, pname)) = p.split_once('.') else {
                    continue;
                };
                let place = match place {
                    "querystring" => "query",
                    "header" => "header",
                    _ => continue,
                };
                parameters.push(json!({"name": pname, "in": place, "required": true, "schema": {"type": "string"}}));
            }
            if let Some(body) = &v.body {
                let schema = serde_json::from_str::<Value>(body.get_ref()).unwrap_or(Value::Null);
                op.insert(
                    "requestBody".into(),
                    json!({"content": {"application/json": {"schema": schema}}, "required": true}),
                );
            }
            let validator = match (v.body.is_some(), !v.parameters.is_empty()) {
                (true, true) => ("body-and-params", true, true),
                (true, false) => ("body-only", true, false),
                _ => ("params-only", false, true),
            };
            validators.insert(validator.0.into(), json!({"validateRequestBody": validator.1, "validateRequestParameters": validator.2}));
            op.insert(
                "x-amazon-apigateway-request-validator".into(),
                json!(validator.0),
            );
        }
        if !parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(parameters));
        }
        op.insert("responses".into(), json!({}));
        let mut security = Vec::new();
        if let Some(authorizer) = &route.authorizer {
            security.push(json!({ authorizer.get_ref().as_str(): route.authorization_scopes }));
        }
        if route.api_key_required == Some(true) {
            needs_api_key = true;
            security.push(json!({"api_key": []}));
        }
        if !security.is_empty() {
            op.insert("security".into(), Value::Array(security));
        }
        op.insert(
            "x-amazon-apigateway-integration".into(),
            integration(kind, route),
        );
        let item = paths.entry(path).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(method, Value::Object(op));
        }
    }
    let mut schemes = Map::new();
    for (aname, authorizer) in &section.authorizers {
        let a = authorizer.get_ref();
        let kind_name = a.kind.get_ref().to_ascii_lowercase();
        let identity = a.identity_source.as_ref().map(|s| s.get_ref().join(","));
        let scheme = if kind_name == "jwt" {
            let mut ext = json!({
                "type": "jwt",
                "jwtConfiguration": {"issuer": a.issuer.as_ref().map(|i| i.get_ref().clone()), "audience": a.audiences},
                "identitySource": identity.unwrap_or_else(|| "$request.header.Authorization".into()),
            });
            if let Some(file) = &a.jwks_file {
                ext["x-portico-jwks-file"] = json!(file.get_ref());
            }
            json!({"type": "oauth2", "flows": {}, "x-amazon-apigateway-authorizer": ext})
        } else {
            let function = a
                .function
                .as_ref()
                .map(|f| f.get_ref().as_str())
                .unwrap_or("");
            let mut ext = json!({
                "type": kind_name,
                "authorizerUri": arn::lambda_uri(function),
            });
            if let Some(identity) = identity {
                ext["identitySource"] = json!(identity);
            }
            if let Some(ttl) = a
                .ttl
                .as_ref()
                .and_then(|t| crate::config::parse_duration(t.get_ref()).ok())
            {
                ext["authorizerResultTtlInSeconds"] = json!(ttl.as_secs());
            }
            json!({
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": ext,
            })
        };
        schemes.insert(aname.clone(), scheme);
    }
    if needs_api_key {
        schemes.insert(
            "api_key".into(),
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"}),
        );
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {"title": name, "version": "1.0"},
        "paths": paths,
        "components": {"securitySchemes": schemes},
    });
    if kind == ApiKind::Http {
        doc["x-amazon-apigateway-importexport-version"] = json!("1.0");
    }
    if let Some(source) = &section.api_key_source {
        doc["x-amazon-apigateway-api-key-source"] = json!(source.get_ref());
    } else if kind == ApiKind::Rest {
        doc["x-amazon-apigateway-api-key-source"] = json!("HEADER");
    }
    if !validators.is_empty() {
        doc["x-amazon-apigateway-request-validators"] = Value::Object(validators);
    }
    doc
}

/// The route's `x-amazon-apigateway-integration`.
fn integration(kind: ApiKind, route: &RouteSection) -> Value {
    let payload = match kind {
        ApiKind::Http => "2.0",
        ApiKind::Rest => "1.0",
    };
    if let Some(function) = &route.function {
        return json!({
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": arn::lambda_uri(function.get_ref()),
            "payloadFormatVersion": payload,
            "passthroughBehavior": "when_no_match",
        });
    }
    if let Some(url) = &route.http {
        let mut out = json!({
            "type": "http_proxy",
            "httpMethod": route.route.get_ref().split_whitespace().next().filter(|m| *m != "ANY" && *m != "$default").unwrap_or("ANY"),
            "uri": url.get_ref(),
            "payloadFormatVersion": "1.0",
            "passthroughBehavior": "when_no_match",
        });
        if let Some(ms) = route
            .timeout
            .as_ref()
            .and_then(|t| crate::config::parse_duration(t.get_ref()).ok())
        {
            out["timeoutInMillis"] = json!(ms.as_millis() as u64);
        }
        return out;
    }
    if let Some(mock) = &route.mock {
        let m = mock.get_ref();
        let status = m.status.as_ref().map_or(200, |s| *s.get_ref());
        let content_type = m
            .content_type
            .as_ref()
            .map_or("application/json", |c| c.get_ref().as_str());
        let mut response = json!({"statusCode": status.to_string()});
        if let Some(template) = &m.template {
            response["responseTemplates"] = json!({ content_type: template.get_ref() });
        }
        return json!({
            "type": "mock",
            "requestTemplates": {"application/json": format!("{{\"statusCode\": {status}}}")},
            "passthroughBehavior": "when_no_match",
            "responses": {"default": response},
        });
    }
    // Workflow routes have no OpenAPI form Portico imports; say what they are.
    json!({"type": "aws", "x-portico-workflow": route.workflow.as_ref().map(|w| w.get_ref().clone())})
}
