//! OpenAPI round trip of an HTTP API defined in gateway.toml: JWT and Lambda REQUEST
//! authorizers, scopes, a greedy ANY route, a `$default` mock and a validated route are
//! exported, the export is loaded as `openapi = "..."`, served with a signed JWT over real
//! HTTP, and exports again to the same document.

mod auth_support;
mod common;

use std::time::{Duration, UNIX_EPOCH};

use auth_support::*;
use common::{quiet, shipped_registry, TestStack};
use portico_runtime::{Clock, Config};
use serde_json::json;

fn defined_in_toml() -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "http"

[apis.shop.authorizers.users]
type = "jwt"
issuer = "{ISSUER}"
audiences = ["{AUDIENCE}"]
jwks_file = "{JWKS}"

[apis.shop.authorizers.by_header]
type = "request"
function = "echo"
identity_source = ["$request.header.x-user", "$request.querystring.k"]
ttl = "0s"

[[apis.shop.routes]]
route = "GET /orders"
function = "echo"
authorizer = "users"
authorization_scopes = ["orders:read"]

[[apis.shop.routes]]
route = "ANY /files/{{proxy+}}"
function = "echo"

[[apis.shop.routes]]
route = "POST /things"
function = "echo"
validate = {{ body = '{{"type": "object", "required": ["name"]}}', parameters = ["header.x-tenant"] }}

[[apis.shop.routes]]
route = "$default"
mock = {{ status = 404, template = '{{"missing": "$context.path"}}' }}
"#
    ))
}

fn from_openapi(file: &std::path::Path) -> String {
    quiet(&format!(
        "[apis.shop]\ntype = \"http\"\nopenapi = \"{}\"\n",
        file.display()
    ))
}

#[tokio::test]
async fn an_http_api_round_trips_and_serves_from_its_export() {
    let registry = shipped_registry();
    let original = Config::from_toml(&defined_in_toml(), "gateway.toml", &registry)
        .unwrap_or_else(|e| panic!("{e}"));
    let export = portico_runtime::openapi::export(&original.apis[0].openapi, "$default");
    let users = &export["components"]["securitySchemes"]["users"]["x-amazon-apigateway-authorizer"];
    assert_eq!(users["type"], "jwt");
    assert_eq!(users["jwtConfiguration"]["issuer"], ISSUER);
    assert_eq!(users["identitySource"], "$request.header.Authorization");
    assert_eq!(
        export["paths"]["/orders"]["get"]["security"],
        json!([{"users": ["orders:read"]}])
    );
    let any = &export["paths"]["/files/{proxy+}"]["x-amazon-apigateway-any-method"];
    assert_eq!(
        any["x-amazon-apigateway-integration"]["payloadFormatVersion"],
        "2.0"
    );
    assert!(export["paths"]["$default"]["x-amazon-apigateway-any-method"].is_object());

    let dir = std::env::temp_dir().join(format!("portico-openapi-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("shop.json");
    std::fs::write(&file, export.to_string()).expect("write");
    let reloaded = Config::from_toml(&from_openapi(&file), "gateway.toml", &registry)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reloaded.apis[0].openapi, original.apis[0].openapi);

    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    let stack = TestStack::start_with_clock(&from_openapi(&file), &registry, clock).await;
    let bearer = format!("Bearer {}", sign(&claims()));
    let res = stack
        .request("GET", "/orders", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["requestContext"]["authorizer"]["jwt"]["claims"]["sub"],
        "user-1"
    );
    assert_eq!(stack.get("/orders").await.status, 401);
    let res = stack.get("/files/a/b.txt").await;
    assert_eq!(res.json()["pathParameters"]["proxy"], "a/b.txt");
    let res = stack
        .request("POST", "/things", &[("x-tenant", "t1")], r#"{"other": 1}"#)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["message"], "Invalid request body");
    let res = stack.get("/nowhere").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), json!({"missing": "/nowhere"}));
    let _ = std::fs::remove_dir_all(&dir);
}
