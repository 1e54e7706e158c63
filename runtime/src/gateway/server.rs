//! Accepts connections and serves them with hyper until shutdown, then drains in-flight
//! requests before returning. With a certificate configured, every connection is TLS.
//!
//! Draining goes through the head-timeout [`Watchdog`] that already knows every connection
//! (hand-written instead of hyper-util's `GracefulShutdown`, whose wrapper polled a shutdown
//! channel on every wake-up of every connection: ~240 instructions per request).

use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, HttpService};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::head_timeout::{Registration, Watchdog};
use crate::stack::Stack;

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request head before its connection is closed.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `stack` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    stack: Stack,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let builder = http1::Builder::new();
    // Slow heads are closed by the watchdog, not by a hyper timer per request.
    let (watchdog, _sweeper) = Watchdog::start(stack.clock().clone(), HEAD_TIMEOUT);
    let tls = super::tls::acceptor(&stack.config());
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
        let socket = registration.watch(socket);
        if let Some(tls) = &tls {
            // The handshake runs in the connection's task, so a slow client cannot stall
            // the accept loop.
            let (tls, builder) = (tls.clone(), builder.clone());
            tokio::spawn(async move {
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(socket));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                };
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                serve_until_closed(conn, &registration, remote).await;
            });
            continue;
        }
        let conn = builder.serve_connection(TokioIo::new(socket), service);
        tokio::spawn(async move { serve_until_closed(conn, &registration, remote).await });
    }
    drop(listener);
    watchdog.begin_drain();
    tokio::select! {
        _ = watchdog.drained() => tracing::info!("all connections drained"),
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("gave up waiting for connections to drain"),
    }
    Ok(())
}

/// Drives one connection until it ends, closing it early for a slow request head, or
/// gracefully (after the request in service) when the server drains.
async fn serve_until_closed<I, S, B>(
    conn: http1::Connection<I, S>,
    registration: &Registration,
    remote: std::net::SocketAddr,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    let progress = registration.progress();
    loop {
        tokio::select! {
            biased;
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = progress.closed() => {
                if !progress.draining() {
                    tracing::debug!(%remote, "closed a connection too slow to send its request head");
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
