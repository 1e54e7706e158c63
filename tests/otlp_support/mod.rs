//! A fake OTLP/HTTP collector on 127.0.0.1:0 (plain or TLS) that hands every export it
//! receives to the test, helpers to read the spans out of an export, and the stack that
//! exports to it. A test crate using it declares `mod common;` and `mod upstream_support;` too.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use portico_runtime::{async_trait, Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{quiet, TestResponse, TestStack};
use crate::upstream_support;

/// The `[logs]` table exporting to `endpoint` and the `quick` Express workflow every OTLP test
/// runs, followed by `rest`: the test's own workflows and routes.
pub fn exporting_toml(endpoint: &str, rest: &str) -> String {
    format!(
        r#"
[logs]
stdout = false
otlp_endpoint = "{endpoint}"

[workflows.quick]
definition = "tests/fixtures/traces/flow.json"
type = "EXPRESS"
{rest}"#
    )
}

/// A route `POST /quick` (API `shop`) running the `quick` workflow synchronously, for
/// [`exporting_toml`]'s `rest`.
pub const QUICK_ROUTE: &str = r#"
[apis.shop]
type = "http"
[[apis.shop.routes]]
route = "POST /quick"
workflow = "quick"
sync = true
"#;

/// The `slow` Standard workflow (it waits 60 s on the clock), for [`exporting_toml`]'s `rest`.
pub const SLOW_WORKFLOW: &str = r#"
[workflows.slow]
definition = "tests/fixtures/traces/slow.json"
"#;

/// A Step Functions API call (`op`, as `X-Amz-Target` names it) with `extra` headers.
pub async fn sfn(stack: &TestStack, op: &str, body: Value, extra: &[(&str, &str)]) -> TestResponse {
    let target = format!("AWSStepFunctions.{op}");
    let mut headers = vec![
        ("x-amz-target", target.as_str()),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    headers.extend_from_slice(extra);
    stack.request("POST", "/", &headers, body.to_string()).await
}

/// A stack on `toml` (made quiet) with [`WhoAmI`] registered as `whoami`, on `clock`.
pub async fn start_exporting(toml: &str, clock: Clock) -> TestStack {
    let mut registry = Registry::new();
    registry.register("whoami", WhoAmI);
    TestStack::start_with_clock(&quiet(toml), &registry, clock).await
}

/// Answers with the trace header its context received.
pub struct WhoAmI;

#[async_trait]
impl Handler for WhoAmI {
    async fn call(&self, _event: Value, ctx: Context) -> Result<Value, FunctionError> {
        Ok(json!({"trace": ctx.xray_trace_id}))
    }
}

/// What the collector received: the path, the content type and the parsed body.
pub type Received = (String, String, Value);

/// A collector on 127.0.0.1:0 answering `answers` first (200 once they are used up), over
/// TLS with `tls`; returns its base URL (`…/otel`, host `localhost` with TLS) and what it
/// receives.
pub async fn collector(
    answers: Vec<u16>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let answers = Arc::new(Mutex::new(answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = match tls {
        Some(_) => format!("https://localhost:{port}/otel"),
        None => format!("http://127.0.0.1:{port}/otel"),
    };
    upstream_support::serve(listener, tls, move |req: hyper::Request<_>, _| {
        let (tx, answers) = (tx.clone(), answers.clone());
        async move {
            let path = req.uri().path().to_owned();
            let content_type = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let status = if path == "/otel/v1/traces" {
                let _ = tx.send((path, content_type, body));
                let mut answers = answers.lock().unwrap();
                if answers.is_empty() {
                    200
                } else {
                    answers.remove(0)
                }
            } else {
                404
            };
            hyper::Response::builder()
                .status(status)
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
    });
    (url, rx)
}

/// A collector on 127.0.0.1:0 answering 200 to every export with a body of `answer_bytes`
/// bytes, and `Connection: close` when `close` is set; returns its base URL and, for each
/// export, the caller's address — one per connection the collector accepted.
pub async fn counting_collector(
    answer_bytes: usize,
    close: bool,
) -> (String, mpsc::UnboundedReceiver<std::net::SocketAddr>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/otel", listener.local_addr().unwrap());
    let answer = Bytes::from(vec![b'x'; answer_bytes]);
    upstream_support::serve(listener, None, move |req: hyper::Request<_>, peer| {
        let (tx, answer) = (tx.clone(), answer.clone());
        async move {
            let _ = req.into_body().collect().await;
            let _ = tx.send(peer);
            let mut res = hyper::Response::builder().status(200);
            if close {
                res = res.header("connection", "close");
            }
            res.body(Full::new(answer)).unwrap()
        }
    });
    (url, rx)
}

/// The next export the collector received.
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    // A bound on a hung exporter, not a wait for time to pass.
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the collector received nothing")
        .expect("collector stopped")
}

/// The spans of an export.
pub fn spans(body: &Value) -> Vec<Value> {
    body["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .clone()
}

/// The span named `name`.
pub fn by_name<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span `{name}` in {spans:?}"))
}

/// The span names, in order.
pub fn names(spans: &[Value]) -> Vec<&str> {
    spans.iter().map(|s| s["name"].as_str().unwrap()).collect()
}
