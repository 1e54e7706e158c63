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

mod slow_heads {
    //! A client that trickles its request head is cut off after 30 s of Clock time; a slow
    //! function is not, and neither is an idle keep-alive connection.

    use std::time::{Duration, SystemTime};

    use portico_runtime::Clock;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::common::{quiet, shipped_registry, TestStack};

    const TOML: &str = "[apis.a]\ntype = \"http\"\n[[apis.a.routes]]\nroute = \"GET /hello/{name}\"\nfunction = \"hello\"\n";

    /// Whether the server closed `socket` (read returns end of file) within a short real wait.
    async fn closed(socket: &mut TcpStream) -> bool {
        let mut buf = [0u8; 256];
        matches!(
            tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// Advances the clock past the limit until the server closes `socket`, at most `tries` times.
    async fn advance_until_closed(clock: &Clock, socket: &mut TcpStream, tries: usize) -> bool {
        for _ in 0..tries {
            clock.advance(Duration::from_secs(31));
            if closed(socket).await {
                return true;
            }
        }
        false
    }

    #[tokio::test]
    async fn a_head_that_never_completes_is_closed_after_30_seconds() {
        let clock = Clock::manual(SystemTime::now());
        let registry = shipped_registry();
        let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
        let mut socket = TcpStream::connect(stack.addr).await.unwrap();
        socket
            .write_all(b"GET /hello/slow HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(!closed(&mut socket).await, "not closed before the limit");
        clock.advance(Duration::from_secs(29));
        assert!(!closed(&mut socket).await, "29 s is within the limit");
        assert!(
            advance_until_closed(&clock, &mut socket, 5).await,
            "a head still incomplete after 30 s must be cut off"
        );
        // The server is unharmed.
        assert_eq!(stack.get("/hello/ok").await.status, 200);
    }

    #[tokio::test]
    async fn idle_keep_alive_connections_stay_open() {
        let clock = Clock::manual(SystemTime::now());
        let registry = shipped_registry();
        let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
        let mut socket = TcpStream::connect(stack.addr).await.unwrap();
        let request = b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n";
        socket.write_all(request).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        for _ in 0..3 {
            clock.advance(Duration::from_secs(31));
            assert!(
                !closed(&mut socket).await,
                "an idle connection is not a slow head"
            );
        }
        socket.write_all(request).await.unwrap();
        let n = socket.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
}
