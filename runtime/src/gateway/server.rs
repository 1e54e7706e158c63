//! Accepts connections and serves them with hyper until shutdown, then drains in-flight
//! requests before returning.

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::head_timeout::Watchdog;
use crate::stack::Stack;

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to send a request head before its connection is closed.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `stack` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    stack: Stack,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let builder = http1::Builder::new();
    // Slow heads are closed by the watchdog, not by a hyper timer per request.
    let (watchdog, _sweeper) = Watchdog::start(stack.clock().clone(), HEAD_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (socket, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Running out of file descriptors must not end the server; back off instead.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = socket.set_nodelay(true);
        let stack = stack.clone();
        let registration = watchdog.register();
        let progress = registration.progress().clone();
        let service = service_fn(move |req| {
            let stack = stack.clone();
            let progress = progress.clone();
            async move {
                progress.request_started();
                let response = stack.handle(req, remote).await;
                progress.request_finished();
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let io = TokioIo::new(registration.watch(socket));
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                _ = registration.progress().closed() => {
                    tracing::debug!(%remote, "closed a connection too slow to send its request head");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections drained"),
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("gave up waiting for connections to drain"),
    }
    Ok(())
}
