//! The floor for any hyper-based proxy: a minimal reverse proxy made of hyper's server and
//! hyper's client only, no Portico code. It forwards the method, path and query, the
//! end-to-end headers and the streamed body to one upstream over keep-alive connections,
//! and streams the upstream's response back; an upstream failure is a bare 502.
//!
//! Two clients are here, so the floor can be the faster of them: hyper-util's pooled
//! legacy `Client`, and hyper's `client::conn::http1` with a small pool of its own (each
//! connection driven by a spawned task, as hyper's docs show; a connection goes back to the
//! pool when its response body has been read to the end).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::uri::{Authority, Scheme};
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Empty};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Which hyper client the floor proxy forwards with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// hyper-util's pooled legacy `Client`.
    LegacyClient,
    /// hyper's `client::conn::http1`, pooled here.
    Http1Pool,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), removed in place both ways; `Host` is set by the
/// client for the upstream.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || name.as_str() == "keep-alive"
}

/// Removes hop-by-hop headers in place; a map without any (the usual case) is only scanned.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    while let Some(name) = headers.keys().find(|n| is_hop_by_hop(n)).cloned() {
        headers.remove(name);
    }
}

type ProxyBody = Either<GiveBack, Empty<Bytes>>;

fn bad_gateway() -> Response<ProxyBody> {
    let mut res = Response::new(Either::Right(Empty::new()));
    *res.status_mut() = StatusCode::BAD_GATEWAY;
    res
}

/// Serves the floor proxy to `upstream` on 127.0.0.1:0 for the rest of the run.
pub async fn serve(upstream: SocketAddr, flavor: Flavor) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let authority: Authority = upstream.to_string().parse().unwrap();
    let legacy = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http::<Incoming>();
    let pool = Arc::new(Http1Pool {
        upstream,
        host: upstream.to_string().parse().unwrap(),
        idle: Mutex::new(Vec::new()),
    });
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            let (legacy, pool, authority) = (legacy.clone(), pool.clone(), authority.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (legacy, pool) = (legacy.clone(), pool.clone());
                    let authority = authority.clone();
                    async move {
                        let (mut parts, body) = req.into_parts();
                        strip_hop_by_hop(&mut parts.headers);
                        let response = match flavor {
                            Flavor::LegacyClient => {
                                let mut uri = std::mem::take(&mut parts.uri).into_parts();
                                uri.scheme = Some(Scheme::HTTP);
                                uri.authority = Some(authority);
                                parts.uri = Uri::from_parts(uri).unwrap_or_default();
                                legacy
                                    .request(Request::from_parts(parts, body))
                                    .await
                                    .ok()
                                    .map(|r| {
                                        r.map(|incoming| {
                                            Either::Left(GiveBack {
                                                incoming,
                                                back: None,
                                            })
                                        })
                                    })
                            }
                            Flavor::Http1Pool => pool.send(Request::from_parts(parts, body)).await,
                        };
                        Ok::<_, std::convert::Infallible>(match response {
                            Some(mut res) => {
                                strip_hop_by_hop(res.headers_mut());
                                res
                            }
                            None => bad_gateway(),
                        })
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

/// Idle `client::conn::http1` senders to the one upstream, newest last.
pub struct Http1Pool {
    upstream: SocketAddr,
    host: http::HeaderValue,
    idle: Mutex<Vec<SendRequest<Incoming>>>,
}

impl Http1Pool {
    /// Sends `req` (origin-form URI) on an idle connection or a new one.
    async fn send(self: &Arc<Self>, mut req: Request<Incoming>) -> Option<Response<ProxyBody>> {
        req.headers_mut().insert(header::HOST, self.host.clone());
        let mut sender = loop {
            let idle = self.idle.lock().unwrap().pop();
            match idle {
                Some(mut sender) => {
                    if sender.ready().await.is_ok() {
                        break sender;
                    }
                }
                None => break self.connect().await?,
            }
        };
        let response = sender.send_request(req).await.ok()?;
        let pool = Arc::clone(self);
        Some(response.map(|incoming| {
            Either::Left(GiveBack {
                incoming,
                back: Some((sender, pool)),
            })
        }))
    }

    async fn connect(&self) -> Option<SendRequest<Incoming>> {
        let stream = tokio::net::TcpStream::connect(self.upstream).await.ok()?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        Some(sender)
    }
}

/// A response body that gives its connection back to the pool (if it came from one) once
/// read to the end.
pub struct GiveBack {
    incoming: Incoming,
    back: Option<(SendRequest<Incoming>, Arc<Http1Pool>)>,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        if let Some((sender, pool)) = self.back.take() {
            if self.incoming.is_end_stream() && !sender.is_closed() {
                pool.idle.lock().unwrap().push(sender);
            }
        }
    }
}

impl Body for GiveBack {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.incoming).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

/// The floor proxy's process for profiling (`PORTICO_BENCH_FLOOR=<upstream address>`, with
/// `PORTICO_BENCH_FLOOR_CLIENT=legacy` for hyper-util's legacy client): serves on the
/// default multi-threaded runtime, as Portico does, prints its address, and exits when
/// its stdin closes.
pub fn run_process(upstream: &str) {
    let upstream: SocketAddr = upstream.parse().expect("PORTICO_BENCH_FLOOR: an address");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(serve(upstream, flavor_from_env()));
    println!("{addr}");
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// `PORTICO_BENCH_FLOOR_CLIENT`: `legacy`, or `http1` (the default: the faster; under
/// callgrind it ran 26.4k instructions per request against the legacy client's 36.0k).
pub fn flavor_from_env() -> Flavor {
    match std::env::var("PORTICO_BENCH_FLOOR_CLIENT").as_deref() {
        Ok("legacy") => Flavor::LegacyClient,
        _ => Flavor::Http1Pool,
    }
}
