//! What the HTTP proxy does not pass on, over real HTTP: headers a `Connection` header
//! names belong to that one hop (RFC 9110 §7.6.1) in either direction; and an upstream
//! connection left idle for 90 s on the stack's clock is closed rather than reused.

mod common;
mod upstream_support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{quiet, TestStack};
use http_body_util::Full;
use portico_runtime::{Clock, Registry};
use upstream_support::{proxy_toml, Upstream};

/// Answers with the names of the request headers it got (one a line) and the caller's
/// address (`x-peer`); `/named` also answers with a header its `Connection` header names;
/// `/forwarded` answers with the `X-Forwarded-For` values it got instead, one a line.
async fn upstream() -> Upstream {
    upstream_support::upstream(|req: hyper::Request<hyper::body::Incoming>, peer| {
        let names: Vec<&str> = req.headers().keys().map(|k| k.as_str()).collect();
        let mut res = hyper::Response::builder().header("x-peer", peer.to_string());
        if req.uri().path() == "/named" {
            res = res
                .header("connection", "X-Internal , keep-alive")
                .header("x-internal", "secret")
                .header("x-public", "yes");
        }
        let text = if req.uri().path() == "/forwarded" {
            let forwarded = req.headers().get_all("x-forwarded-for").iter();
            forwarded
                .map(|v| v.to_str().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            names.join("\n")
        };
        let body = Full::new(Bytes::from(text));
        async move { res.body(body).unwrap() }
    })
    .await
}

fn toml(upstream: SocketAddr) -> String {
    quiet(&proxy_toml("GET", upstream))
}

/// A stack proxying `GET /dev/{proxy+}` to a fresh [`upstream`], returned with it (dropping
/// the upstream stops it).
async fn proxy() -> (Upstream, TestStack) {
    let up = upstream().await;
    let stack = TestStack::start(&toml(up.addr), &Registry::new()).await;
    (up, stack)
}

/// The `X-Forwarded-For` the upstream got, one line each, for a request with `headers`.
async fn forwarded_for(stack: &TestStack, headers: &[(&str, &str)]) -> String {
    let res = stack.request("GET", "/dev/forwarded", headers, "").await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.text()
}

#[tokio::test]
async fn headers_the_clients_connection_header_names_are_not_forwarded() {
    let (_up, stack) = proxy().await;
    let res = stack
        .request(
            "GET",
            "/dev/a",
            &[
                ("connection", "X-Secret , x-two"),
                ("x-secret", "1"),
                ("x-two", "2"),
                ("x-kept", "3"),
                ("keep-alive", "timeout=5"),
            ],
            "",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let got = res.text();
    let names: Vec<&str> = got.lines().collect();
    assert!(names.contains(&"x-kept"), "{names:?}");
    for gone in ["x-secret", "x-two", "connection", "keep-alive"] {
        assert!(!names.contains(&gone), "{gone} forwarded: {names:?}");
    }
}

#[tokio::test]
async fn the_callers_x_forwarded_for_is_extended_once_with_its_address() {
    let (_up, stack) = proxy().await;
    let got = forwarded_for(&stack, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(got, "203.0.113.7, 127.0.0.1");
    assert_eq!(forwarded_for(&stack, &[]).await, "127.0.0.1");
}

#[tokio::test]
async fn several_x_forwarded_for_lines_are_forwarded_as_one_joined_and_extended() {
    let (_up, stack) = proxy().await;
    let got = forwarded_for(
        &stack,
        &[
            ("x-forwarded-for", "203.0.113.7, 198.51.100.2"),
            ("x-forwarded-for", "192.0.2.9"),
        ],
    )
    .await;
    // One line reaches the upstream, holding every value in the caller's order.
    assert_eq!(got, "203.0.113.7, 198.51.100.2, 192.0.2.9, 127.0.0.1");
}

#[tokio::test]
async fn an_empty_x_forwarded_for_line_adds_no_empty_entry() {
    let (_up, stack) = proxy().await;
    let headers = [("x-forwarded-for", ""), ("x-forwarded-for", "192.0.2.9")];
    assert_eq!(
        forwarded_for(&stack, &headers).await,
        "192.0.2.9, 127.0.0.1"
    );
}

#[tokio::test]
async fn headers_the_upstreams_connection_header_names_are_not_returned() {
    let (_up, stack) = proxy().await;
    let res = stack.get("/dev/named").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-public"), Some("yes"));
    assert_eq!(res.header("x-internal"), None);
    assert_eq!(res.header("keep-alive"), None);
    // The connection itself is still kept: the next request goes out on it.
    let next = stack.get("/dev/b").await;
    assert_eq!(next.header("x-peer"), res.header("x-peer"));
}

#[tokio::test]
async fn an_upstream_connection_idle_for_90_seconds_is_closed_not_reused() {
    let mut up = upstream().await;
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::start_with_clock(&toml(up.addr), &Registry::new(), clock.clone()).await;
    let first = stack.get("/dev/a").await;
    assert_eq!(first.status, 200);
    let first_peer = first.header("x-peer").unwrap().to_owned();

    clock.advance(Duration::from_secs(89));
    let before = stack.get("/dev/b").await;
    assert_eq!(before.header("x-peer"), Some(first_peer.as_str()));

    clock.advance(Duration::from_secs(90));
    let after = stack.get("/dev/c").await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("x-peer"), Some(first_peer.as_str()));
    // The expired connection was closed, not just left aside.
    let closed = tokio::time::timeout(Duration::from_secs(10), up.closed.recv())
        .await
        .expect("the idle connection is closed")
        .unwrap();
    assert_eq!(closed.to_string(), first_peer);
}
