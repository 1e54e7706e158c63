//! HTTP proxy integrations over real HTTP, in front of a real upstream started on port 0:
//! substitution of path parameters and stage variables, pass-through of method, headers,
//! query and body, streaming of the response, the timeout (504) and an unreachable
//! upstream (502), and config errors at load.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{quiet, TestStack};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portico_runtime::{Clock, Config, Registry};
use serde_json::{json, Value};
use tokio::sync::mpsc;

type Chunks = mpsc::Receiver<Result<Frame<Bytes>, Infallible>>;

/// What the upstream tells the test.
struct Upstream {
    addr: SocketAddr,
    /// A `/slow` request arrived (it is never answered).
    slow: mpsc::Receiver<()>,
    /// Send chunks of the `/stream` response; dropping it ends the body.
    stream: mpsc::Sender<Result<Frame<Bytes>, Infallible>>,
}

/// `/echo...` answers with the request as JSON; `/slow` never answers; `/stream` streams.
async fn upstream() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (slow_tx, slow) = mpsc::channel(8);
    let (stream, stream_rx) = mpsc::channel(8);
    let stream_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(stream_rx)));
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let slow_tx = slow_tx.clone();
            let stream_rx = stream_rx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let slow_tx = slow_tx.clone();
                    let stream_rx = stream_rx.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        if path == "/slow" {
                            let _ = slow_tx.send(()).await;
                            std::future::pending::<()>().await;
                        }
                        if path == "/stream" {
                            let rx: Chunks = stream_rx.lock().await.take().expect("one stream");
                            let body = ChannelBody(rx);
                            let res = hyper::Response::builder()
                                .header("x-upstream", "stream")
                                .body(body.boxed())
                                .unwrap();
                            return Ok::<_, Infallible>(res);
                        }
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let headers: serde_json::Map<String, Value> = parts
                            .headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
                            .collect();
                        let echo = json!({
                            "method": parts.method.as_str(),
                            "path": path,
                            "query": parts.uri.query(),
                            "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        });
                        let res = hyper::Response::builder()
                            .status(201)
                            .header("content-type", "application/json")
                            .header("x-upstream", "echo")
                            .body(
                                Full::new(Bytes::from(echo.to_string()))
                                    .map_err(|e| match e {})
                                    .boxed(),
                            )
                            .unwrap();
                        Ok(res)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Upstream { addr, slow, stream }
}

/// A response body fed by the test, chunk by chunk.
struct ChannelBody(Chunks);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx)
    }
}

fn toml(upstream: SocketAddr, extra: &str) -> String {
    quiet(&format!(
        r#"
[server]
integration_timeout = "2s"

[apis.shop]
type = "rest"
[apis.shop.stages.dev.variables]
backend = "{upstream}"

[[apis.shop.routes]]
route = "ANY /items/{{id}}"
http = "http://${{stageVariables.backend}}/echo/items/{{id}}"

[[apis.shop.routes]]
route = "GET /slow"
http = "http://{upstream}/slow"

[[apis.shop.routes]]
route = "GET /stream"
http = "http://{upstream}/stream"
{extra}
"#
    ))
}

#[tokio::test]
async fn forwards_method_path_query_headers_and_body() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up.addr, ""), &Registry::new()).await;
    let res = stack
        .request(
            "POST",
            "/dev/items/a%20b?x=1&y=two",
            &[("x-custom", "yes"), ("content-type", "text/plain")],
            "hello upstream",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("x-upstream"), Some("echo"));
    assert!(res.header("x-amzn-requestid").is_some());
    let echo = res.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/items/a%20b");
    assert_eq!(echo["query"], "x=1&y=two");
    assert_eq!(echo["body"], "hello upstream");
    assert_eq!(echo["headers"]["x-custom"], "yes");
    assert_eq!(echo["headers"]["host"], up.addr.to_string());
    assert_eq!(echo["headers"]["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn streams_the_response_without_buffering_it() {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up.addr, ""), &Registry::new()).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    up.stream
        .send(Ok(Frame::data(Bytes::from_static(b"first,"))))
        .await
        .unwrap();
    let res = client
        .get(stack.url("/dev/stream").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-upstream"], "stream");
    let mut body = res.into_body();
    // The first chunk arrives while the upstream has not finished: nothing waits for the end.
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "first,");
    up.stream
        .send(Ok(Frame::data(Bytes::from_static(b"second"))))
        .await
        .unwrap();
    let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(second, "second");
    drop(up.stream);
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    let mut up = upstream().await;
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack =
        TestStack::start_with_clock(&toml(up.addr, ""), &Registry::new(), clock.clone()).await;
    let pending = tokio::spawn({
        let url = stack.url("/dev/slow");
        async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<Bytes>>();
            let res = client.get(url.parse().unwrap()).await.unwrap();
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        }
    });
    up.slow.recv().await.unwrap();
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_millis(1999));
    tokio::task::yield_now().await;
    assert!(!pending.is_finished(), "nothing before the timeout");
    clock.advance(Duration::from_millis(1));
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 504);
    assert_eq!(body, r#"{"message":"Endpoint request timed out"}"#);
}

#[tokio::test]
async fn a_route_timeout_replaces_the_server_one() {
    let mut up = upstream().await;
    let extra = format!(
        "[[apis.shop.routes]]\nroute = \"GET /quick\"\nhttp = \"http://{}/slow\"\ntimeout = \"100ms\"\n",
        up.addr
    );
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack =
        TestStack::start_with_clock(&toml(up.addr, &extra), &Registry::new(), clock.clone()).await;
    let pending = tokio::spawn({
        let url = stack.url("/dev/quick");
        async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<Bytes>>();
            client.get(url.parse().unwrap()).await.unwrap().status()
        }
    });
    up.slow.recv().await.unwrap();
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_millis(100));
    assert_eq!(pending.await.unwrap(), 504);
}

#[tokio::test]
async fn an_unreachable_upstream_is_502() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let stack = TestStack::start(&toml(closed, ""), &Registry::new()).await;
    let res = stack.get("/dev/items/1").await;
    assert_eq!(res.status, 502);
    assert_eq!(res.json(), json!({"message": "Internal server error"}));
}

fn errors(toml: &str) -> String {
    match Config::from_toml(toml, "gateway.toml", &Registry::new()) {
        Ok(_) => panic!("config must be rejected:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_http_routes_are_rejected_at_load() {
    let base = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev.variables]
backend = "localhost:1"
[apis.shop.stages.prod]
"#;
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"http://${{stageVariables.backend}}/a\"\n"
    ));
    assert!(
        text.contains("gateway.toml:9:8: api `shop`: route `GET /a`: the URL uses `${stageVariables.backend}`, which stage `prod` does not define"),
        "{text}"
    );
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"http://localhost:1/{{id}}\"\n"
    ));
    assert!(
        text.contains("the URL uses `{id}`, which is not a path parameter of the route"),
        "{text}"
    );
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"ftp://x/\"\n"
    ));
    assert!(text.contains("must start with http://"), "{text}");
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"http://${{context.x}}/\"\n"
    ));
    assert!(text.contains("must be `${stageVariables.NAME}`"), "{text}");
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"http://h/\"\nfunction = \"f\"\n"
    ));
    assert!(text.contains("needs exactly one of"), "{text}");
    let text = errors(&format!(
        "{base}[[apis.shop.routes]]\nroute = \"GET /a\"\nhttp = \"http://h/\"\ntimeout = \"soon\"\n"
    ));
    assert!(text.contains("`timeout`"), "{text}");
}
