//! OpenAPI 3 import and export over real HTTP: an API written the way AWS's documentation
//! shows (tests/fixtures/openapi/petstore.json) is loaded with `openapi = "..."`, served and
//! called (Lambda proxy, HTTP proxy to a real upstream, mock, validators, a Lambda TOKEN
//! authorizer, an API key), exported through `GET /restapis/{id}/stages/{stage}/exports/oas30`,
//! and the export re-imported to the same definitions. Bad files are clear errors at load.

mod common;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::openapi;
use portico_runtime::{Config, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openapi/petstore.json"
);
const KEY: &str = "pets-key-0123456789abcdef";

/// A TOKEN authorizer allowing the token `allow`.
struct TokenAuth;

#[async_trait]
impl Handler for TokenAuth {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        if event["authorizationToken"] != "allow" {
            return Err(FunctionError::unhandled("Error", "Unauthorized"));
        }
        Ok(
            json!({"principalId": "user-1", "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}}),
        )
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    registry.register("token_auth", TokenAuth);
    registry
}

/// A real upstream on port 0 for the HTTP proxy route.
async fn upstream() -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/pets/{id}",
        axum::routing::get(
            |axum::extract::Path(id): axum::extract::Path<String>| async move {
                axum::Json(json!({"id": id, "from": "upstream"}))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn gateway_toml(upstream: std::net::SocketAddr) -> String {
    quiet(&format!(
        r#"
[apis.petstore]
type = "rest"
openapi = "{FIXTURE}"
[apis.petstore.stages.prod.variables]
upstream = "{upstream}"

[[usage_plans]]
id = "pets"
stages = [{{ api = "petstore", stage = "prod" }}]

[[api_keys]]
name = "client"
value = "{KEY}"
usage_plans = ["pets"]
"#
    ))
}

#[tokio::test]
async fn an_imported_api_serves_every_integration_and_check() {
    let stack = TestStack::start(&gateway_toml(upstream().await), &registry()).await;

    let res = stack.get("/prod/pets?page=2").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["resource"], "/pets");
    assert_eq!(res.json()["queryStringParameters"]["page"], "2");
    let res = stack.get("/prod/pets").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "Missing required request parameters: [page]"
    );

    let post = |body: &'static str, key: Option<&'static str>| {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
        let stack = &stack;
        async move { stack.request("POST", "/prod/pets", &headers, body).await }
    };
    assert_eq!(post(r#"{"type":"dog","price":30}"#, None).await.status, 403);
    let res = post(r#"{"type":"dog","price":30}"#, Some(KEY)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = post(r#"{"type":"dragon","price":30}"#, Some(KEY)).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["message"], "Invalid request body");

    let res = stack.get("/prod/pets/7").await;
    assert_eq!(res.status, 401);
    let res = stack
        .request("GET", "/prod/pets/7", &[("authorization", "allow")], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"id": "7", "from": "upstream"}));

    let res = stack.get("/prod/ping").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"pong": true, "stage": "prod"}));
}

fn imported(text: &str) -> toml::Table {
    let registry = registry();
    let exists = |f: &str| registry.contains(f);
    openapi::import(text, "doc.json", &exists)
        .unwrap_or_else(|e| panic!("import failed:\n{e}"))
        .section
}

#[tokio::test]
async fn the_export_has_aws_extensions_and_re_imports_to_the_same_api() {
    let stack = TestStack::start(&gateway_toml(upstream().await), &registry()).await;
    let id = &stack.stack.config().apis[0].id;
    let res = stack
        .get(&format!("/restapis/{id}/stages/prod/exports/oas30"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let export = res.json();
    assert_eq!(export["openapi"], "3.0.1");
    assert_eq!(export["x-amazon-apigateway-api-key-source"], "HEADER");
    assert_eq!(
        export["servers"][0]["variables"]["basePath"]["default"],
        "/prod"
    );
    let get_pets = &export["paths"]["/pets"]["get"];
    assert_eq!(
        get_pets["x-amazon-apigateway-integration"]["type"],
        "aws_proxy"
    );
    assert_eq!(
        get_pets["x-amazon-apigateway-integration"]["uri"],
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations"
    );
    assert_eq!(
        get_pets["x-amazon-apigateway-integration"]["payloadFormatVersion"],
        "1.0"
    );
    assert_eq!(
        get_pets["x-amazon-apigateway-request-validator"],
        "params-only"
    );
    assert_eq!(
        export["x-amazon-apigateway-request-validators"]["body-only"],
        json!({"validateRequestBody": true, "validateRequestParameters": false})
    );
    let proxy = &export["paths"]["/pets/{petId}"]["get"]["x-amazon-apigateway-integration"];
    assert_eq!(proxy["type"], "http_proxy");
    assert_eq!(
        proxy["uri"],
        "http://${stageVariables.upstream}/pets/{petId}"
    );
    assert_eq!(proxy["timeoutInMillis"], 29000);
    let mock = &export["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"];
    assert_eq!(mock["type"], "mock");
    assert_eq!(
        mock["requestTemplates"]["application/json"],
        "{\"statusCode\": 200}"
    );
    let authorizer = &export["components"]["securitySchemes"]["petstore-authorizer"];
    assert_eq!(
        authorizer["x-amazon-apigateway-authorizer"]["type"],
        "token"
    );
    assert_eq!(
        authorizer["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"],
        300
    );

    // Round trip: the export imports to exactly the definitions the fixture did.
    let original = imported(&std::fs::read_to_string(FIXTURE).expect("fixture"));
    let again = imported(&export.to_string());
    assert_eq!(original, again);

    let res = stack.get("/restapis/nope/stages/prod/exports/oas30").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.header("x-amzn-errortype"), Some("NotFoundException"));
    let res = stack
        .get(&format!("/restapis/{id}/stages/dev/exports/oas30"))
        .await;
    assert_eq!(res.status, 404);
}

#[test]
fn import_prints_the_gateway_toml_section() {
    let section = imported(&std::fs::read_to_string(FIXTURE).expect("fixture"));
    let routes = section["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 4);
    let route = |key: &str| {
        routes
            .iter()
            .find(|r| r["route"].as_str() == Some(key))
            .unwrap_or_else(|| panic!("no route {key}"))
    };
    assert_eq!(route("GET /pets")["function"].as_str(), Some("echo"));
    assert_eq!(
        route("POST /pets")["api_key_required"].as_bool(),
        Some(true)
    );
    assert_eq!(
        route("GET /pets/{petId}")["authorizer"].as_str(),
        Some("petstore-authorizer")
    );
    assert_eq!(
        section["authorizers"]["petstore-authorizer"]["function"].as_str(),
        Some("token_auth")
    );
    assert_eq!(
        section["stages"].as_table().map(|s| s.contains_key("prod")),
        Some(true)
    );
}

fn import_error(doc: &Value) -> String {
    let registry = registry();
    let exists = |f: &str| registry.contains(f);
    match openapi::import(&doc.to_string(), "bad.json", &exists) {
        Ok(_) => panic!("import should fail"),
        Err(e) => e.to_string(),
    }
}

fn with_integration(integration: Value) -> Value {
    json!({"openapi": "3.0.1", "info": {"title": "t", "version": "1"},
        "paths": {"/items": {"post": {"x-amazon-apigateway-integration": integration}}}})
}

#[test]
fn bad_files_are_clear_errors_naming_the_path_and_method() {
    let text = import_error(&with_integration(
        json!({"type": "aws", "uri": "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"}),
    ));
    assert_eq!(text, "bad.json: paths./items.post: integration type `aws` is not supported (aws_proxy, http_proxy or mock)");
    let text = import_error(&with_integration(json!({"type": "aws_proxy", "uri":
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:nobody/invocations"})));
    assert!(
        text.starts_with("bad.json: paths./items.post: the integration names function `nobody`"),
        "{text}"
    );
    let text = import_error(&with_integration(
        json!({"type": "aws_proxy", "uri": "https://example.com"}),
    ));
    assert!(
        text.contains("is not a Lambda function integration URI"),
        "{text}"
    );
    let text = import_error(&json!({"openapi": "3.0.1", "paths": {"/x": {"get": {}}}}));
    assert!(
        text.contains("paths./x.get: has no `x-amazon-apigateway-integration`"),
        "{text}"
    );
    let mixed = json!({"openapi": "3.0.1", "paths": {
        "/a": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "payloadFormatVersion": "2.0",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations"}}},
        "/b": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "payloadFormatVersion": "1.0",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations"}}}}});
    let text = import_error(&mixed);
    assert!(
        text.starts_with("bad.json: paths./b.get: payloadFormatVersion 1.0"),
        "{text}"
    );
    let mut undefined = with_integration(json!({"type": "mock"}));
    undefined["paths"]["/items"]["post"]["x-amazon-apigateway-request-validator"] = json!("strict");
    undefined["paths"]["/items"]["post"]["security"] = json!([{"nobody": []}]);
    let text = import_error(&undefined);
    assert!(
        text.contains("paths./items.post: request validator `strict` is not defined"),
        "{text}"
    );
    assert!(
        text.contains("paths./items.post: security scheme `nobody` is not defined"),
        "{text}"
    );
    let text = import_error(&json!({"swagger": "2.0", "paths": {}}));
    assert!(text.contains("must be an OpenAPI 3 document"), "{text}");
    let registry = registry();
    let exists = |f: &str| registry.contains(f);
    let text = openapi::import("{\"openapi\": ", "bad.json", &exists)
        .expect_err("invalid JSON")
        .to_string();
    assert!(
        text.starts_with("bad.json: not valid JSON at line 1"),
        "{text}"
    );
}

#[test]
fn a_bad_openapi_file_is_a_config_error_at_the_openapi_key() {
    let dir = std::env::temp_dir().join(format!("portico-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        with_integration(json!({"type": "http", "uri": "http://x"})).to_string(),
    )
    .expect("write");
    let toml = format!(
        "[apis.a]\ntype = \"rest\"\nopenapi = \"{}\"\n[apis.a.stages.prod]\n",
        bad.display()
    );
    let err = Config::from_toml(&toml, "gateway.toml", &registry())
        .expect_err("rejected")
        .to_string();
    assert!(err.starts_with("gateway.toml:3:11: api `a`: "), "{err}");
    assert!(
        err.contains("paths./items.post: integration type `http` is not supported"),
        "{err}"
    );
    let toml = format!(
        "[apis.a]\ntype = \"rest\"\nopenapi = \"{}/missing.json\"\n",
        dir.display()
    );
    let err = Config::from_toml(&toml, "gateway.toml", &registry())
        .expect_err("rejected")
        .to_string();
    assert!(err.contains("cannot read"), "{err}");
    let toml = format!("[apis.a]\ntype = \"rest\"\nopenapi = \"{FIXTURE}\"\n[[apis.a.routes]]\nroute = \"GET /x\"\nfunction = \"echo\"\n");
    let err = Config::from_toml(&toml, "gateway.toml", &registry())
        .expect_err("rejected")
        .to_string();
    assert!(err.contains("routes come from the OpenAPI file"), "{err}");
    let http = dir.join("http.json");
    std::fs::write(
        &http,
        json!({"openapi": "3.0.1", "x-amazon-apigateway-importexport-version": "1.0",
        "paths": {"/x": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}}})
        .to_string(),
    )
    .expect("write");
    let toml = format!(
        "[apis.a]\ntype = \"rest\"\nopenapi = \"{}\"\n[apis.a.stages.prod]\n",
        http.display()
    );
    let err = Config::from_toml(&toml, "gateway.toml", &registry())
        .expect_err("rejected")
        .to_string();
    assert!(
        err.starts_with("gateway.toml:2:8: api `a`: `type = \"rest\"`, but"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// boto3's `get_export`, as a user would fetch the export from AWS. Skips, saying so, only
/// when python3 with boto3 is not installed (`.ci/run` installs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_get_export_reads_the_export() {
    let has_boto3 = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_boto3 {
        eprintln!("SKIPPED boto3_get_export_reads_the_export: python3 with boto3 is not installed");
        return;
    }
    let stack = TestStack::start(&gateway_toml(upstream().await), &registry()).await;
    let id = stack.stack.config().apis[0].id.clone();
    let script = r#"
import json, sys, boto3
client = boto3.client("apigateway", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
out = client.get_export(restApiId=sys.argv[2], stageName="prod", exportType="oas30",
                        parameters={"extensions": "integrations,authorizers,validators"},
                        accepts="application/json")
doc = json.loads(out["body"].read())
print(out["contentType"], sorted(doc["paths"]))
"#;
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, &format!("http://{}", stack.addr), &id])
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "application/json ['/pets', '/pets/{petId}', '/ping']"
    );
}
