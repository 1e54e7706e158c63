//! HTTP non-proxy integrations over real HTTP, in front of an upstream started on port 0:
//! the upstream gets the mapped body and only the mapped headers and query parameters; its
//! status code picks the integration response (404 → 404 with a templated body and mapped
//! headers, 5xx → 502, anything else → the default response).

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::{quiet, TestStack};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portico_runtime::Registry;
use serde_json::{json, Value};

/// `/items/404` answers 404, `/items/503` answers 503, `/items/201` answers 201; every
/// other path answers 200 with the request it received, as JSON.
async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    let headers: serde_json::Map<String, Value> = parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
                        .collect();
                    let echo = json!({
                        "method": parts.method.as_str(),
                        "path": parts.uri.path(),
                        "query": parts.uri.query(),
                        "headers": headers,
                        "body": String::from_utf8_lossy(&body),
                    });
                    let res = hyper::Response::builder().header("x-upstream", "yes");
                    let res = match parts.uri.path() {
                        "/items/404" => res
                            .status(404)
                            .header("content-type", "application/json")
                            .header("x-upstream-reason", "no such item")
                            .body(Full::new(Bytes::from(r#"{"reason": "gone fishing"}"#))),
                        "/items/503" => res
                            .status(503)
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from("overloaded"))),
                        "/items/201" => res
                            .status(201)
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from("created"))),
                        _ => res
                            .status(200)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(echo.to_string()))),
                    };
                    Ok::<_, Infallible>(res.unwrap())
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

fn toml(upstream: SocketAddr) -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev.variables]
backend = "{upstream}"
label = "development"

[[apis.shop.routes]]
route = "POST /items/{{id}}"
http = "http://${{stageVariables.backend}}/items/{{id}}"
[apis.shop.routes.integration]
request_templates = {{ "application/json" = '''{{"name": "$input.path('$.name')", "stage": "$context.stage"}}''' }}
[apis.shop.routes.integration.request_parameters]
"integration.request.header.x-client-id" = "method.request.querystring.client"
"integration.request.header.x-stage" = "stageVariables.label"
"integration.request.querystring.source" = "'portico'"
"integration.request.querystring.name" = "method.request.body.name"

[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = {{ "method.response.header.X-Upstream-Path" = "integration.response.body.path" }}

[[apis.shop.routes.integration.responses]]
selection_pattern = "404"
status_code = 404
response_parameters = {{ "method.response.header.X-Reason" = "integration.response.header.x-upstream-reason", "method.response.header.Cache-Control" = "'no-store'" }}
response_templates = {{ "application/json" = '''{{"message": "item $input.params('id') not found", "detail": "$input.path('$.reason')"}}''' }}

[[apis.shop.routes.integration.responses]]
selection_pattern = '5\d{{2}}'
status_code = 502
response_templates = {{ "application/json" = '''{{"message": "upstream failed: $input.body"}}''' }}

[[apis.shop.routes]]
route = "GET /things/{{thing}}"
http = "http://{upstream}/things/{{thing}}"
[apis.shop.routes.integration]
request_parameters = {{ "integration.request.path.thing" = "method.request.querystring.alias" }}
"#
    ))
}

#[tokio::test]
async fn the_upstream_gets_the_mapped_body_headers_and_query_only() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up), &Registry::new()).await;
    let res = stack
        .request(
            "POST",
            "/dev/items/7?client=c-9&other=dropped",
            &[
                ("content-type", "application/json"),
                ("x-custom", "dropped"),
            ],
            r#"{"name": "lamp", "price": 3}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The default response passes the upstream body through with its content type.
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("x-upstream-path"), Some("/items/7"));
    assert_eq!(
        res.header("x-upstream"),
        None,
        "upstream headers are not passed"
    );
    let seen = res.json();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/items/7");
    assert_eq!(seen["query"], "name=lamp&source=portico");
    assert_eq!(
        serde_json::from_str::<Value>(seen["body"].as_str().unwrap()).unwrap(),
        json!({"name": "lamp", "stage": "dev"})
    );
    assert_eq!(seen["headers"]["x-client-id"], "c-9");
    assert_eq!(seen["headers"]["x-stage"], "development");
    assert_eq!(seen["headers"]["content-type"], "application/json");
    assert!(seen["headers"].get("x-custom").is_none());
}

#[tokio::test]
async fn an_upstream_404_is_mapped_to_404_with_a_templated_body_and_headers() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up), &Registry::new()).await;
    let res = stack
        .request("POST", "/dev/items/404", &[], r#"{"name": "x"}"#)
        .await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("x-reason"), Some("no such item"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(
        res.json(),
        json!({"message": "item 404 not found", "detail": "gone fishing"})
    );
}

#[tokio::test]
async fn other_statuses_pick_their_pattern_or_the_default() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up), &Registry::new()).await;
    let res = stack.request("POST", "/dev/items/503", &[], "{}").await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"message": "upstream failed: overloaded"})
    );

    // 201 matches no pattern: the default response (200), body and type passed through.
    let res = stack.request("POST", "/dev/items/201", &[], "{}").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.text(), "created");
}

#[tokio::test]
async fn a_mapped_path_parameter_replaces_the_routes_own() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up), &Registry::new()).await;
    let res = stack.get("/dev/things/x?alias=a%20b%2Fc").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["path"], "/things/a%20b%2Fc");
    assert_eq!(res.json()["query"], Value::Null);
    // Without the mapped value, the route's own parameter fills the URL.
    let res = stack.get("/dev/things/plain").await;
    assert_eq!(res.json()["path"], "/things/plain");
}
