//! Shared helpers: start a stack on 127.0.0.1:0 and talk to it over real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use portico_runtime::{Clock, Config, Registry, Stack};
use tokio::sync::oneshot;

/// A stack serving on a real socket; shut down on drop.
pub struct TestStack {
    pub addr: SocketAddr,
    pub stack: Stack,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The registry of the shipped functions.
pub fn shipped_registry() -> Registry {
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    registry
}

/// Parses a config, panicking with its errors.
pub fn config(toml: &str, registry: &Registry) -> Config {
    Config::from_toml(toml, "test.toml", registry).unwrap_or_else(|e| panic!("config errors:\n{e}"))
}

impl TestStack {
    /// Serves `toml` with `registry` on the system clock.
    pub async fn start(toml: &str, registry: &Registry) -> TestStack {
        Self::start_with_clock(toml, registry, Clock::system()).await
    }

    /// Serves `toml` with `registry` on `clock`.
    pub async fn start_with_clock(toml: &str, registry: &Registry, clock: Clock) -> TestStack {
        let stack = Stack::builder(config(toml, registry), registry)
            .clock(clock)
            .open()
            .await
            .unwrap_or_else(|e| panic!("stack did not start: {e}"));
        Self::serve(stack).await
    }

    /// Serves an already built stack.
    pub async fn serve(stack: Stack) -> TestStack {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(portico_runtime::serve(stack.clone(), listener, async {
            let _ = rx.await;
        }));
        TestStack {
            addr,
            stack,
            shutdown: Some(tx),
            server: Some(server),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Serves the stack's admin API on its own 127.0.0.1:0 listener; returns its base URL.
    pub async fn serve_admin(&self) -> String {
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind admin");
        let url = format!("http://{}", admin.local_addr().expect("admin addr"));
        let app = self.stack.admin_router();
        tokio::spawn(async move { axum::serve(admin, app).await });
        url
    }

    /// A client for the same stack that can move into a spawned task.
    pub fn clone_client(&self) -> TestClient {
        TestClient {
            addr: self.addr,
            client: self.client.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], Bytes::new()).await
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let mut req = http::Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let res = self.client.request(req).await.expect("request failed");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    /// Stops accepting, drains, and waits for the server to return.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.expect("server task"),
            None => Ok(()),
        }
    }

    /// Asks the server to stop without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The default gateway.toml of the repository.
pub fn default_gateway_toml() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.toml"))
        .expect("gateway.toml")
}

/// A config with logs kept in memory only.
pub fn quiet(toml: &str) -> String {
    let mut toml = toml.to_owned();
    if toml.contains("[logs]") {
        toml = toml.replace("stdout = true", "stdout = false");
    } else {
        toml.insert_str(0, "[logs]\nstdout = false\n\n");
    }
    toml
}

/// A cloneable client of one stack, for requests from spawned tasks.
#[derive(Clone)]
pub struct TestClient {
    addr: SocketAddr,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl TestClient {
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let res = self.client.request(req).await.expect("request failed");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// A GET to any URL (the admin API), fully read.
pub async fn admin_get(url: &str) -> TestResponse {
    let client = Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<Bytes>>();
    let res = client
        .get(url.parse().expect("url"))
        .await
        .expect("admin request");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    TestResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// The segment named `name` of a timeline from the admin `/traces` API.
pub fn segment<'a>(trace: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    trace["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` segment in {trace}"))
}
