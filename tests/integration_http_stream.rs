//! The HTTP proxy streams both ways while the request's own task drives the upstream
//! connection, over real HTTP: a request body reaches the upstream chunk by chunk while the
//! client is still sending, and a large response body arrives whole, read in many chunks,
//! with the connection reused afterwards.

mod common;
mod upstream_support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::{quiet, TestStack};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use portico_runtime::Registry;
use tokio::sync::mpsc;
use upstream_support::proxy_toml;

const LARGE: usize = 3 * 1024 * 1024;

/// `/upload` reports the first chunk of the request body to the test before reading the
/// rest, and answers with the whole body; `/large` answers with `LARGE` bytes. Every answer
/// carries the caller's address (`x-peer`).
async fn upstream() -> (SocketAddr, mpsc::UnboundedReceiver<Bytes>) {
    let (first_tx, first) = mpsc::unbounded_channel();
    let up = upstream_support::upstream(move |req: hyper::Request<hyper::body::Incoming>, peer| {
        let first_tx = first_tx.clone();
        async move {
            let res = hyper::Response::builder().header("x-peer", peer.to_string());
            let body = if req.uri().path() == "/upload" {
                let mut body = req.into_body();
                let mut all = Vec::new();
                while let Some(frame) = body.frame().await {
                    let data = frame.unwrap().into_data().unwrap();
                    if all.is_empty() {
                        let _ = first_tx.send(data.clone());
                    }
                    all.extend_from_slice(&data);
                }
                Bytes::from(all)
            } else {
                Bytes::from(vec![b'x'; LARGE])
            };
            res.body(Full::new(body)).unwrap()
        }
    })
    .await;
    (up.addr, first)
}

fn toml(upstream: SocketAddr) -> String {
    quiet(&proxy_toml("ANY", upstream))
}

#[tokio::test]
async fn a_request_body_reaches_the_upstream_while_the_client_still_sends() {
    let (addr, mut first) = upstream().await;
    let stack = TestStack::start(&toml(addr), &Registry::new()).await;
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
    let body = ChannelBody(rx);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let req = hyper::Request::post(stack.url("/dev/upload"))
        .body(body)
        .unwrap();
    let response = tokio::spawn(client.request(req));
    tx.send(Ok(Frame::data(Bytes::from_static(b"one,"))))
        .await
        .unwrap();
    // The upstream has the first chunk while the second is not even written yet.
    assert_eq!(first.recv().await.unwrap(), "one,");
    tx.send(Ok(Frame::data(Bytes::from_static(b"two"))))
        .await
        .unwrap();
    drop(tx);
    let res = response.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    let text = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "one,two");
}

#[tokio::test]
async fn a_large_response_arrives_whole_and_its_connection_is_reused() {
    let (addr, _first) = upstream().await;
    let stack = TestStack::start(&toml(addr), &Registry::new()).await;
    let first = stack.get("/dev/large").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body.len(), LARGE);
    assert!(first.body.iter().all(|b| *b == b'x'));
    let second = stack.get("/dev/large").await;
    assert_eq!(second.body.len(), LARGE);
    assert_eq!(second.header("x-peer"), first.header("x-peer"));
}

/// A request body sent chunk by chunk through a channel; it ends when the sender drops.
struct ChannelBody(mpsc::Receiver<Result<Frame<Bytes>, Infallible>>);

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
