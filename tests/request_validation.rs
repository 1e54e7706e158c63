//! Request validation over real HTTP: required parameters and a draft-4 body model, checked
//! before the integration runs; schemas that are not JSON Schema are rejected at load.

mod common;

use common::{quiet, TestStack};
use portico_runtime::{Config, Registry};
use serde_json::json;

fn toml(closed: std::net::SocketAddr) -> String {
    quiet(&format!(
        r##"
[apis.pets]
type = "rest"
[apis.pets.stages.dev]

[[apis.pets.routes]]
route = "POST /pets/{{id}}"
mock = {{ status = 201, template = '{{"created": "$input.params("id")"}}' }}
[apis.pets.routes.validate]
parameters = ["path.id", "querystring.owner", "header.X-Client"]
body = '''
{{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["name", "price"],
  "additionalProperties": false,
  "properties": {{
    "name": {{ "type": "string", "minLength": 1, "maxLength": 20 }},
    "price": {{ "type": "number", "minimum": 0, "exclusiveMinimum": true }},
    "tags": {{ "type": "array", "items": {{ "$ref": "#/definitions/tag" }}, "uniqueItems": true }},
    "kind": {{ "enum": ["dog", "cat"] }}
  }},
  "definitions": {{ "tag": {{ "type": "string", "maxLength": 5 }} }}
}}
'''

[[apis.pets.routes]]
route = "PUT /pets"
http = "http://{closed}/pets"
validate = {{ body = '{{"type": "object", "required": ["name"]}}' }}
"##
    ))
}

fn closed_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn valid_requests_reach_the_integration() {
    let stack = TestStack::start(&toml(closed_port()), &Registry::new()).await;
    let body = json!({"name": "rex", "price": 3, "tags": ["a", "b"], "kind": "dog"});
    let res = stack
        .request(
            "POST",
            "/dev/pets/7?owner=ann",
            &[("x-client", "t")],
            body.to_string(),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json(), json!({"created": "7"}));
}

#[tokio::test]
async fn missing_parameters_are_listed() {
    let stack = TestStack::start(&toml(closed_port()), &Registry::new()).await;
    let body = json!({"name": "rex", "price": 3}).to_string();
    let res = stack
        .request("POST", "/dev/pets/7", &[], body.clone())
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"message": "Missing required request parameters: [owner, X-Client]"})
    );
    let res = stack
        .request("POST", "/dev/pets/7?owner=", &[("x-client", "t")], body)
        .await;
    assert_eq!(
        res.json(),
        json!({"message": "Missing required request parameters: [owner]"})
    );
}

#[tokio::test]
async fn bodies_that_break_the_model_are_400() {
    let stack = TestStack::start(&toml(closed_port()), &Registry::new()).await;
    for body in [
        json!({"name": "rex"}),
        json!({"name": "", "price": 3}),
        json!({"name": "rex", "price": 0}),
        json!({"name": "rex", "price": "3"}),
        json!({"name": "rex", "price": 3, "extra": true}),
        json!({"name": "rex", "price": 3, "tags": ["a", "a"]}),
        json!({"name": "rex", "price": 3, "tags": ["toolong"]}),
        json!({"name": "rex", "price": 3, "kind": "cow"}),
        json!([1, 2]),
    ] {
        let res = stack
            .request(
                "POST",
                "/dev/pets/7?owner=a",
                &[("x-client", "t")],
                body.to_string(),
            )
            .await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(
            res.json(),
            json!({"message": "Invalid request body"}),
            "{body}"
        );
    }
    let res = stack
        .request("POST", "/dev/pets/7?owner=a", &[("x-client", "t")], "{oops")
        .await;
    assert_eq!(res.json(), json!({"message": "Invalid request body"}));
}

#[tokio::test]
async fn http_routes_validate_before_forwarding() {
    let stack = TestStack::start(&toml(closed_port()), &Registry::new()).await;
    let res = stack
        .request("PUT", "/dev/pets", &[], r#"{"nome": 1}"#)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), json!({"message": "Invalid request body"}));
    // A valid body is forwarded: the upstream is down, so that is the 502.
    let res = stack
        .request("PUT", "/dev/pets", &[], r#"{"name": 1}"#)
        .await;
    assert_eq!(res.status, 502);
}

#[test]
fn schemas_that_are_not_json_schema_are_rejected_at_load() {
    let base = "[apis.a]\ntype = \"http\"\n[[apis.a.routes]]\nroute = \"POST /x\"\nmock = { status = 200 }\n";
    for (validate, expected) in [
        (
            r#"{ body = '{"type": "thing"}' }"#,
            "`\"thing\"` is not a JSON Schema type",
        ),
        (r#"{ body = '{"type": ' }"#, "the model is not JSON"),
        (
            r#"{ body = '{"pattern": "^a"}' }"#,
            "`pattern` is not a supported draft-4 keyword",
        ),
        (
            r##"{ body = '{"$ref": "#/definitions/nope"}' }"##,
            "must point into this schema",
        ),
        (
            r#"{ body = '{"exclusiveMinimum": 3}' }"#,
            "must be true or false (draft 4)",
        ),
        (
            r#"{ parameters = ["cookie.x"] }"#,
            "must be `path.NAME`, `querystring.NAME` or `header.NAME`",
        ),
    ] {
        let text = match Config::from_toml(
            &format!("{base}validate = {validate}\n"),
            "gateway.toml",
            &Registry::new(),
        ) {
            Ok(_) => panic!("{validate} must be rejected"),
            Err(e) => e.to_string(),
        };
        assert!(
            text.contains("gateway.toml:6:")
                && text.contains("api `a`: route `POST /x`: validate: ")
                && text.contains(expected),
            "{validate}: {text}"
        );
    }
}
