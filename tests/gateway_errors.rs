//! What the gateway answers when things go wrong, and that it keeps serving afterwards.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

struct Returns(Value);

#[async_trait]
impl Handler for Returns {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Ok(self.0.clone())
    }
}

struct Panics;

#[async_trait]
impl Handler for Panics {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        panic!("secret internal detail")
    }
}

struct Fails;

#[async_trait]
impl Handler for Fails {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Err(FunctionError::unhandled(
            "DbError",
            "connection refused at 10.0.0.1",
        ))
    }
}

struct Hangs;

#[async_trait]
impl Handler for Hangs {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        std::future::pending().await
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(
        "ok",
        Returns(
            json!({"statusCode": 201, "body": "made", "headers": {"x-a": "1"}, "cookies": ["c=1"]}),
        ),
    )
    .register("plain", Returns(json!({"hello": "world"})))
    .register("malformed", Returns(json!({"statusCode": "nope"})))
    .register("panics", Panics)
    .register("fails", Fails)
    .register("hangs", Hangs);
    r
}

const TOML: &str = r#"
[server]
max_body_bytes = 1024
integration_timeout = "2s"

[functions.hangs]
timeout = "60s"

[apis.h]
type = "http"
[[apis.h.routes]]
route = "POST /ok"
function = "ok"
[[apis.h.routes]]
route = "GET /items/{id}"
function = "plain"
[[apis.h.routes]]
route = "GET /items/special"
function = "ok"
[[apis.h.routes]]
route = "ANY /items/{proxy+}"
function = "malformed"
[[apis.h.routes]]
route = "GET /malformed"
function = "malformed"
[[apis.h.routes]]
route = "GET /panics"
function = "panics"
[[apis.h.routes]]
route = "GET /fails"
function = "fails"
[[apis.h.routes]]
route = "GET /hangs"
function = "hangs"

[apis.r]
type = "rest"
[apis.r.stages.v1]
[[apis.r.routes]]
route = "GET /plain"
function = "plain"
[[apis.r.routes]]
route = "GET /hangs"
function = "hangs"
"#;

async fn start() -> TestStack {
    TestStack::start(&quiet(TOML), &registry()).await
}

#[tokio::test]
async fn unknown_routes_get_what_aws_gives() {
    let stack = start().await;
    let res = stack.get("/nothing/here").await;
    assert_eq!(
        (res.status, res.json()),
        (404, json!({"message": "Not Found"}))
    );
    let res = stack.request("DELETE", "/ok", &[], "").await;
    assert_eq!(res.status, 404, "method mismatch is no route");
    let res = stack.get("/v1/nothing").await;
    assert_eq!(
        (res.status, res.json()),
        (403, json!({"message": "Missing Authentication Token"}))
    );
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
}

#[tokio::test]
async fn route_precedence_follows_api_gateway() {
    let stack = start().await;
    assert_eq!(
        stack.get("/items/special").await.status,
        201,
        "literal beats {{id}}"
    );
    assert_eq!(
        stack.get("/items/7").await.json(),
        json!({"hello": "world"}),
        "{{id}} beats {{proxy+}}"
    );
    assert_eq!(
        stack.get("/items/7/deeper").await.status,
        502,
        "greedy takes the rest"
    );
}

#[tokio::test]
async fn proxy_responses_map_status_headers_and_cookies() {
    let stack = start().await;
    let res = stack.request("POST", "/ok", &[], "").await;
    assert_eq!(res.status, 201);
    assert_eq!(res.text(), "made");
    assert_eq!(res.header("x-a"), Some("1"));
    assert_eq!(res.header("set-cookie"), Some("c=1"));
    let res = stack.get("/items/1").await;
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "a value without statusCode is a JSON 200"
    );
}

#[tokio::test]
async fn rest_api_rejects_a_response_without_status_code() {
    let stack = start().await;
    let res = stack.get("/v1/plain").await;
    assert_eq!(
        (res.status, res.json()),
        (502, json!({"message": "Internal server error"}))
    );
}

#[tokio::test]
async fn failures_are_502_without_internals_and_the_stack_keeps_serving() {
    let stack = start().await;
    for path in ["/malformed", "/panics", "/fails"] {
        let res = stack.get(path).await;
        assert_eq!(res.status, 502, "{path}");
        assert_eq!(
            res.json(),
            json!({"message": "Internal server error"}),
            "{path}"
        );
        assert!(!res.text().contains("secret") && !res.text().contains("10.0.0.1"));
    }
    assert_eq!(stack.request("POST", "/ok", &[], "").await.status, 201);
}

#[tokio::test]
async fn oversized_bodies_get_413_declared_or_streamed() {
    let stack = start().await;
    let res = stack.request("POST", "/ok", &[], vec![b'x'; 1025]).await;
    assert_eq!(
        (res.status, res.json()),
        (413, json!({"message": "Request Entity Too Large"}))
    );
    assert_eq!(
        stack
            .request("POST", "/ok", &[], vec![b'x'; 1024])
            .await
            .status,
        201,
        "exactly the limit is fine"
    );
    // Without a content-length the limit still holds while reading.
    let raw = format!(
        "POST /ok HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        2000,
        "y".repeat(2000)
    );
    let reply = raw_exchange(stack.addr, raw.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
}

#[tokio::test]
async fn integration_timeout_is_504_on_rest_and_503_on_http() {
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry(), clock.clone()).await;
    let url_rest = stack.url("/v1/hangs");
    let rest = tokio::spawn(async move { reqwest_like_get(&url_rest).await });
    let url_http = stack.url("/hangs");
    let http = tokio::spawn(async move { reqwest_like_get(&url_http).await });
    // Both requests wait on the integration timeout (and the function's own) timers.
    while clock.sleepers() < 4 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        rest.await.unwrap(),
        (
            504,
            r#"{"message":"Endpoint request timed out"}"#.to_string()
        )
    );
    assert_eq!(
        http.await.unwrap(),
        (503, r#"{"message":"Service Unavailable"}"#.to_string())
    );
}

async fn reqwest_like_get(url: &str) -> (u16, String) {
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let path = &url[url.find(&addr.to_string()).unwrap() + addr.to_string().len()..];
    let reply = raw_exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    let status = reply[9..12].parse().unwrap();
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text[..head_end].lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    });
                    if let Some(len) = len {
                        if buf.len() >= head_end + 4 + len {
                            break;
                        }
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
