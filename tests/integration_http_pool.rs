//! The HTTP proxy's keep-alive connections to its upstream, over real HTTP: requests in
//! sequence share one upstream connection; a connection the upstream closes, or one left
//! mid-response by a client that went away, is not reused and the next request still gets
//! its answer; a non-proxy HTTP integration uses the same connections. Also: the upstream's
//! hop-by-hop headers stay on its side, and a stage variable may carry a path prefix.

mod common;
mod upstream_support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::{quiet, TestStack};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portico_runtime::Registry;
use tokio::sync::mpsc;
use upstream_support::proxy_toml;

type Chunks = mpsc::Receiver<Result<Frame<Bytes>, Infallible>>;

/// An upstream that answers every request with the caller's address (`x-peer`), so a test
/// can tell connections apart. `/close` answers with `connection: close`; `/stream` sends
/// one chunk and then nothing.
async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, peer) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    async move {
                        let mut res = hyper::Response::builder()
                            .header("x-peer", peer.to_string())
                            .header("keep-alive", "timeout=5")
                            .header("x-query", req.uri().query().unwrap_or(""));
                        let body = match req.uri().path() {
                            "/stream" => {
                                let (tx, rx) = mpsc::channel(1);
                                tx.send(Ok(Frame::data(Bytes::from_static(b"first"))))
                                    .await
                                    .unwrap();
                                // The sender stays alive: the body never ends.
                                std::mem::forget(tx);
                                ChannelBody(rx).boxed()
                            }
                            path => {
                                if path == "/close" {
                                    res = res.header("connection", "close");
                                }
                                Full::new(Bytes::from(path.to_owned()))
                                    .map_err(|e| match e {})
                                    .boxed()
                            }
                        };
                        Ok::<_, Infallible>(res.body(body).unwrap())
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

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

fn toml(upstream: SocketAddr) -> String {
    let proxy = proxy_toml("GET", upstream);
    quiet(&format!(
        r#"{proxy}
[apis.shop.stages.prefixed.variables]
backend = "{upstream}/prefix"

[[apis.shop.routes]]
route = "GET /mapped"
http = "http://${{stageVariables.backend}}/mapped"
[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = {{ "method.response.header.X-Peer" = "integration.response.header.x-peer" }}
"#
    ))
}

#[tokio::test]
async fn requests_in_sequence_share_one_upstream_connection() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let first = stack.get("/dev/a").await;
    assert_eq!((first.status, first.text()), (200, "/a".to_owned()));
    let peer = first.header("x-peer").unwrap().to_owned();
    for path in ["/dev/b", "/dev/c"] {
        let res = stack.get(path).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("x-peer"), Some(peer.as_str()), "{path}");
    }
}

#[tokio::test]
async fn a_connection_the_upstream_closes_is_not_reused() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let closed = stack.get("/dev/close").await;
    assert_eq!((closed.status, closed.text()), (200, "/close".to_owned()));
    let next = stack.get("/dev/next").await;
    assert_eq!((next.status, next.text()), (200, "/next".to_owned()));
    assert_ne!(next.header("x-peer"), closed.header("x-peer"));
}

#[tokio::test]
async fn a_connection_left_mid_response_is_not_reused() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let res = client
        .get(stack.url("/dev/stream").parse().unwrap())
        .await
        .unwrap();
    let stream_peer = res.headers()["x-peer"].to_str().unwrap().to_owned();
    let mut body = res.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "first");
    // The client goes away with the upstream's body unfinished.
    drop(body);
    drop(client);
    let next = stack.get("/dev/next").await;
    assert_eq!((next.status, next.text()), (200, "/next".to_owned()));
    assert_ne!(next.header("x-peer"), Some(stream_peer.as_str()));
}

#[tokio::test]
async fn a_non_proxy_http_integration_reuses_connections_too() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let first = stack.get("/dev/mapped").await;
    assert_eq!((first.status, first.text()), (200, "/mapped".to_owned()));
    let second = stack.get("/dev/mapped").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-peer"), first.header("x-peer"));
}

#[tokio::test]
async fn hop_by_hop_headers_of_the_upstream_are_not_forwarded() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let res = stack.get("/dev/a").await;
    assert_eq!(res.status, 200);
    assert!(res.header("x-peer").is_some());
    assert_eq!(res.header("keep-alive"), None);
}

#[tokio::test]
async fn a_stage_variable_may_carry_a_path_prefix() {
    let stack = TestStack::start(&toml(upstream().await), &Registry::new()).await;
    let res = stack.get("/prefixed/items/9?x=1").await;
    assert_eq!(
        (res.status, res.text()),
        (200, "/prefix/items/9".to_owned())
    );
    assert_eq!(res.header("x-query"), Some("x=1"));
}
