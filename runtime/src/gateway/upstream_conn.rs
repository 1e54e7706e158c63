//! One keep-alive HTTP/1 connection to an upstream, driven by the task of the request that
//! is using it rather than by a task of its own.
//!
//! hyper's client hands a request to its connection over a channel; with the connection on
//! a spawned task every proxied request paid two cross-task wake-ups and a poll of that task
//! (about a third of Portico's instructions per proxied request). Here the request's own
//! task polls the connection: while waiting for the response head ([`Conn::exchange`]) and,
//! through [`ConnBody`], while the client reads the response body. Between requests nobody
//! polls it; the pool polls it once when taking it out, which is when a close by the
//! upstream is noticed.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use axum::body::Body;
use bytes::Bytes;
use http::uri::Authority;
use http::{HeaderValue, Request, Response};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::client::conn::TrySendError;
use hyper_util::rt::TokioIo;

use super::upstream_wake::ConnWaker;

/// What failed while sending a request upstream.
pub(crate) type UpstreamError = Box<dyn std::error::Error + Send + Sync>;

type Connection = http1::Connection<TokioIo<tokio::net::TcpStream>, Body>;

/// One connection: its upstream's `host:port` as written, the `Host` header for it, and
/// both halves of hyper's client connection.
pub(crate) struct Conn {
    pub(crate) authority: Box<str>,
    pub(crate) host: HeaderValue,
    sender: SendRequest<Body>,
    /// `None` once it has finished (closed by either side or failed).
    connection: Option<Connection>,
    /// What it is polled with while in use.
    waker: ConnWaker,
    /// When it was last given back to the pool (on the stack's clock).
    pub(crate) since: SystemTime,
}

/// How a request on a connection ended before a response head arrived.
pub(crate) enum Failed {
    /// The request was never written: it can go out on another connection.
    Unsent(Box<Request<Body>>, UpstreamError),
    /// The exchange failed part-way.
    Error(UpstreamError),
}

impl Conn {
    /// Opens a connection to `authority_text` (`host[:port]`).
    /// Boxed: the connection is large, and moves between the pool, the request's future
    /// and the response body on every request.
    pub(crate) async fn connect(
        authority_text: &str,
        now: SystemTime,
    ) -> Result<Box<Conn>, UpstreamError> {
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
        Ok(Box::new(Conn {
            authority: authority_text.into(),
            host: host_header,
            sender,
            connection: Some(connection),
            waker: ConnWaker::new(),
            since: now,
        }))
    }

    /// Polls the connection with its own waker until it stops waking itself; false once
    /// it has finished.
    fn drive(&mut self) -> bool {
        let connection = &mut self.connection;
        self.waker
            .drive_while_woken(|cx| poll_connection(connection, cx));
        connection.is_some()
    }

    /// Lets an idle connection notice a close by the upstream and get ready for the next
    /// request; false when it cannot take one.
    pub(crate) async fn ready(&mut self) -> bool {
        // Ready already (the usual case): not polled before the send, which polls it anyway.
        // A close it has not noticed yet gives the request back unsent, sent elsewhere.
        if self.connection.is_some() && self.sender.is_ready() {
            return true;
        }
        poll_fn(|cx| {
            self.waker.enter(cx);
            let ready = if !self.drive() {
                Poll::Ready(false)
            } else if self.sender.is_ready() {
                Poll::Ready(true)
            } else {
                self.sender.poll_ready(cx).map(|r| r.is_ok())
            };
            self.waker.leave(cx);
            ready
        })
        .await
    }

    /// Readies the connection for the pool: it forgets the task that used it (whatever
    /// wakes it while idle wakes nobody); false if it cannot be reused. Not polled here: the
    /// poll that read the end of the response has normally left it idle and ready for the
    /// next request, and `ready` drives it when not.
    pub(crate) fn settle(&mut self) -> bool {
        self.waker.forget_task();
        self.connection.is_some() && !self.sender.is_closed()
    }

    /// Sends `req` and drives the connection until the response head arrives.
    pub(crate) async fn exchange(
        &mut self,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, Failed> {
        let mut pending = std::pin::pin!(self.sender.try_send_request(req));
        let result = poll_fn(|cx| {
            self.waker.enter(cx);
            let alive = self.drive();
            self.waker.leave(cx);
            // Only the connection's progress can complete the exchange, and every poll of
            // the connection is followed by this one: its own waker would only wake this
            // task while it runs, for a poll that finds nothing new.
            let noop = &mut Context::from_waker(Waker::noop());
            match pending.as_mut().poll(noop) {
                Poll::Pending if !alive => pending.as_mut().poll(cx),
                other => other,
            }
        })
        .await;
        result.map_err(
            |mut e: TrySendError<Request<Body>>| match e.take_message() {
                Some(unsent) => Failed::Unsent(Box::new(unsent), e.into_error().into()),
                None => Failed::Error(e.into_error().into()),
            },
        )
    }
}

/// Polls `connection` once; false once it has finished (closed by either side, or failed:
/// its errors reach the exchange using it).
fn poll_connection(connection: &mut Option<Connection>, cx: &mut Context<'_>) -> bool {
    if let Some(live) = connection {
        if Pin::new(live).poll(cx).is_ready() {
            *connection = None;
        }
    }
    connection.is_some()
}

/// An upstream response body that drives its connection while the client reads it, and
/// hands the connection to `done` when the body has been read to its end.
pub(crate) struct ConnBody<F: FnOnce(Box<Conn>) + Send + Unpin> {
    incoming: Incoming,
    conn: Option<Box<Conn>>,
    ended: bool,
    done: Option<F>,
}

impl<F: FnOnce(Box<Conn>) + Send + Unpin> ConnBody<F> {
    /// `incoming` is the body of a response that arrived on `conn`.
    pub(crate) fn new(incoming: Incoming, conn: Box<Conn>, done: F) -> Self {
        ConnBody {
            incoming,
            conn: Some(conn),
            ended: false,
            done: Some(done),
        }
    }
}

impl<F: FnOnce(Box<Conn>) + Send + Unpin> http_body::Body for ConnBody<F> {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = match &mut this.conn {
            Some(conn) if conn.connection.is_some() => {
                conn.waker.enter(cx);
                let alive = conn.drive();
                // The body's chunks come from the connection just polled (or from its end):
                // as in `exchange`, a waker of its own would only wake this running task.
                let noop = &mut Context::from_waker(Waker::noop());
                let frame = match Pin::new(&mut this.incoming).poll_frame(noop) {
                    Poll::Pending if !alive => Pin::new(&mut this.incoming).poll_frame(cx),
                    other => other,
                };
                // Taking a chunk wakes the connection to read on: it does so now.
                if alive && conn.waker.woken() {
                    conn.drive();
                }
                conn.waker.leave(cx);
                frame
            }
            _ => Pin::new(&mut this.incoming).poll_frame(cx),
        };
        if let Poll::Ready(None) = frame {
            this.ended = true;
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

impl<F: FnOnce(Box<Conn>) + Send + Unpin> Drop for ConnBody<F> {
    fn drop(&mut self) {
        // A body dropped part-way leaves its connection mid-message: it is closed instead.
        if self.ended || self.incoming.is_end_stream() {
            if let (Some(conn), Some(done)) = (self.conn.take(), self.done.take()) {
                done(conn);
            }
        }
    }
}
