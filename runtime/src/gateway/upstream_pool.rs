//! The keep-alive connections of one HTTP integration to its upstreams: idle HTTP/1
//! connections, by authority, reused last-in first-out and handed back when the response
//! body has been read to its end; a connection idle for [`IDLE_TIMEOUT`] is closed.
//!
//! Hand-written over hyper's `client::conn::http1` rather than hyper-util's generic pooled
//! client because, on the proxy path, that client cost about a fifth of Portico's
//! instructions per request: a SipHash-keyed pool map looked up twice, a race between
//! checkout and a lazy connect, a task spawned per request to give the connection back, and
//! each connection driven by a task of its own (see `upstream_conn`). Here a checkout is a
//! short scan of a small list under a lock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use http::header::HOST;
use http::{Request, Response};

pub(crate) use super::upstream_conn::UpstreamError;
use super::upstream_conn::{Conn, ConnBody, Failed};
use crate::clock::Clock;

/// An idle connection older than this is closed instead of reused (nginx's upstream
/// `keepalive_timeout` is 60 s; API Gateway's own idle timeout toward clients is 350 s).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// At most this many idle connections are kept; more are closed.
const MAX_IDLE: usize = 256;

/// The idle connections of one integration, oldest first.
#[derive(Default)]
pub(crate) struct UpstreamPool {
    // Boxed although in a Vec: each connection moves out to a response body and back on
    // every request, and a box moves as one pointer.
    #[allow(clippy::vec_box)]
    idle: Mutex<Vec<Box<Conn>>>,
}

impl std::fmt::Debug for UpstreamPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamPool").finish_non_exhaustive()
    }
}

impl UpstreamPool {
    /// Sends `req` (origin-form URI) to `authority` (`host[:port]`) on an idle connection,
    /// or a new one, with `Host` set unless the request has one; a request an idle
    /// connection could not take is retried on another. The response body drives its
    /// connection and gives it back when read to the end.
    pub(crate) async fn send(
        self: &Arc<Self>,
        authority: &str,
        mut req: Request<Body>,
        clock: &Clock,
    ) -> Result<Response<Body>, UpstreamError> {
        loop {
            let (mut conn, reused) = match self.checkout(authority, clock.now()) {
                Some(conn) => (conn, true),
                // Boxed: opening a connection is the cold path, and its future (connect and
                // handshake) would otherwise size this one, which every request holds.
                None => (
                    Box::pin(Conn::connect(authority, clock.now())).await?,
                    false,
                ),
            };
            if reused && !conn.ready().await {
                continue;
            }
            if !req.headers().contains_key(HOST) {
                req.headers_mut().insert(HOST, conn.host.clone());
            }
            match conn.exchange(req).await {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    let clock = clock.clone();
                    let give_back = move |conn| pool.give_back(conn, clock.now());
                    return Ok(response
                        .map(|incoming| Body::new(ConnBody::new(incoming, conn, give_back))));
                }
                // Never written: an idle connection the upstream had just closed.
                Err(Failed::Unsent(unsent, _)) if reused => req = *unsent,
                Err(Failed::Unsent(_, e) | Failed::Error(e)) => return Err(e),
            }
        }
    }

    /// The newest idle connection to `authority`; expired ones are closed on the way.
    fn checkout(&self, authority: &str, now: SystemTime) -> Option<Box<Conn>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let expired = idle.iter().take_while(|c| is_expired(c, now)).count();
        if expired > 0 {
            // Closed here, under the lock, rather than by a sweeper task: nothing runs for a
            // pool nobody uses, and a dropped connection just closes its socket.
            idle.drain(..expired);
        }
        let i = idle.iter().rposition(|c| &*c.authority == authority)?;
        Some(idle.remove(i))
    }

    fn give_back(&self, mut conn: Box<Conn>, now: SystemTime) {
        if !conn.settle() {
            return;
        }
        conn.since = now;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

fn is_expired(conn: &Conn, now: SystemTime) -> bool {
    now.duration_since(conn.since)
        .is_ok_and(|idle| idle >= IDLE_TIMEOUT)
}
