//! Upstream servers the tests start on 127.0.0.1:0 (HTTP/1, plain or over TLS): each request
//! is answered by a closure that also gets the caller's address, and the test hears of every
//! connection that closes.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

/// A running upstream: its address, and the callers' addresses of the connections it saw
/// closed.
pub struct Upstream {
    pub addr: SocketAddr,
    pub closed: mpsc::UnboundedReceiver<SocketAddr>,
}

/// Starts a plain HTTP upstream answering with `answer(request, caller)`.
pub async fn upstream<F, Fut>(answer: F) -> Upstream
where
    F: Fn(hyper::Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closed = serve(listener, None, answer);
    Upstream { addr, closed }
}

/// Serves `answer(request, caller)` on `listener` (over TLS with `tls`) until the test ends;
/// the receiver hears the caller's address of each connection that closes.
pub fn serve<F, Fut>(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    answer: F,
) -> mpsc::UnboundedReceiver<SocketAddr>
where
    F: Fn(hyper::Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let (closed_tx, closed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, peer)) = listener.accept().await else {
                continue;
            };
            let (answer, tls, closed_tx) = (answer.clone(), tls.clone(), closed_tx.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = answer.clone();
                    async move { Ok::<_, Infallible>(answer(req, peer).await) }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(socket).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    }
                }
                let _ = closed_tx.send(peer);
            });
        }
    });
    closed
}

/// A REST API whose stage `dev` proxies `{method} /{path+}` to the upstream at `upstream`
/// (through the stage variable `backend`).
pub fn proxy_toml(method: &str, upstream: SocketAddr) -> String {
    format!(
        r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev.variables]
backend = "{upstream}"

[[apis.shop.routes]]
route = "{method} /{{path+}}"
http = "http://${{stageVariables.backend}}/{{path}}"
"#
    )
}
