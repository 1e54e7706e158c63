//! Shutdown drains: a request in flight when shutdown begins still gets its answer.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

struct Gate {
    entered: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

#[async_trait]
impl Handler for Gate {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let _ = self.entered.send(());
        self.release.notified().await;
        Ok(json!({"statusCode": 200, "body": "finished"}))
    }
}

#[tokio::test]
async fn in_flight_requests_finish_before_serve_returns() {
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let mut registry = Registry::new();
    registry.register(
        "gate",
        Gate {
            entered: entered_tx,
            release: release.clone(),
        },
    );
    let toml = "[apis.a]\ntype = \"http\"\n[[apis.a.routes]]\nroute = \"GET /slow\"\nfunction = \"gate\"\n";
    let mut stack = TestStack::start(&quiet(toml), &registry).await;
    let url = stack.url("/slow");
    let client = tokio::spawn(async move {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/slow")
            .to_owned();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("finished") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the answer");
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    });
    entered.recv().await.unwrap();
    stack.begin_shutdown();
    let server = stack.server.take().unwrap();
    tokio::task::yield_now().await;
    assert!(
        !server.is_finished(),
        "serve must wait for the in-flight request"
    );
    release.notify_one();
    let reply = client.await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    server.await.unwrap().unwrap();
}
