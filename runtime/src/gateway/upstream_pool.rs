//! The keep-alive connections of one HTTP integration to its upstreams: idle HTTP/1
//! connections, by authority, reused last-in first-out and handed back when the response
//! body has been read to its end.
//!
//! Hand-written over hyper's `client::conn::http1` rather than hyper-util's generic pooled
//! client because, on the proxy path, that client cost about a fifth of Portico's
//! instructions per request: a SipHash-keyed pool map looked up twice, a race between
//! checkout and a lazy connect, and a task spawned per request to give the connection back.
//! Here a checkout is a short scan of a small list under a lock.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::header::HOST;
use http::uri::Authority;
use http::{HeaderValue, Request, Response};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// An idle connection older than this is closed instead of reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// At most this many idle connections are kept; more are closed.
const MAX_IDLE: usize = 256;

/// What failed while sending a request upstream.
pub(crate) type UpstreamError = Box<dyn std::error::Error + Send + Sync>;

/// One connection: its upstream's `host:port` as written, the `Host` header for it.
struct Conn {
    authority: Box<str>,
    host: HeaderValue,
    sender: SendRequest<Body>,
    since: Instant,
}

/// The idle connections of one integration.
#[derive(Default)]
pub(crate) struct UpstreamPool {
    idle: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for UpstreamPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamPool").finish_non_exhaustive()
    }
}

impl UpstreamPool {
    /// Sends `req` (origin-form URI) to `authority` (`host[:port]`) on an idle connection,
    /// or a new one, with `Host` set unless the request has one; a request an idle
    /// connection could not take is retried on another.
    pub(crate) async fn send(
        self: &Arc<Self>,
        authority: &str,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        loop {
            let (mut conn, reused) = match self.checkout(authority) {
                Some(conn) => (conn, true),
                None => (connect(authority).await?, false),
            };
            if reused && !conn.sender.is_ready() && conn.sender.ready().await.is_err() {
                continue;
            }
            if !req.headers().contains_key(HOST) {
                req.headers_mut().insert(HOST, conn.host.clone());
            }
            match conn.sender.try_send_request(req).await {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    return Ok(response.map(|incoming| {
                        Body::new(PooledBody {
                            incoming,
                            ended: false,
                            give_back: Some((pool, conn)),
                        })
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // Never written: an idle connection the upstream had just closed.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(e.into_error().into()),
                },
            }
        }
    }

    fn checkout(&self, authority: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(i) = idle.iter().rposition(|c| &*c.authority == authority) {
            let conn = idle.swap_remove(i);
            if !conn.sender.is_closed() && conn.since.elapsed() < IDLE_TIMEOUT {
                return Some(conn);
            }
        }
        None
    }

    fn give_back(&self, mut conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        conn.since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// Opens a connection and drives it on its own task until either side closes it.
async fn connect(authority_text: &str) -> Result<Conn, UpstreamError> {
    let authority: Authority = authority_text
        .parse()
        .map_err(|e| format!("`{authority_text}` is not a valid host: {e}"))?;
    let host_header = HeaderValue::from_str(authority_text)
        .map_err(|e| format!("`{authority_text}` is not a valid host: {e}"))?;
    let host = authority.host();
    // An IPv6 literal is bracketed in a URL, not in a socket address.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("tcp connect error: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Its errors reach the request or response that was using it.
        let _ = connection.await;
    });
    Ok(Conn {
        authority: authority_text.into(),
        host: host_header,
        sender,
        since: Instant::now(),
    })
}

/// An upstream response body that gives its connection back once read to the end.
struct PooledBody {
    incoming: Incoming,
    ended: bool,
    give_back: Option<(Arc<UpstreamPool>, Conn)>,
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = Pin::new(&mut self.incoming).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            self.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body dropped part-way leaves its connection mid-message: it is closed instead.
        if self.ended || self.incoming.is_end_stream() {
            if let Some((pool, conn)) = self.give_back.take() {
                pool.give_back(conn);
            }
        }
    }
}
