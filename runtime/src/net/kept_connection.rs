//! One keep-alive connection kept across requests to the same server: for the OTLP exporter,
//! which posts batch after batch to one collector. The connection is opened on first use,
//! opened anew when the server closed it (or a request on it failed), and a long answer body
//! is read to its end — its first `limit` bytes kept, the rest discarded — so the connection
//! stays usable and a long answer is no failure.
//!
//! Hand-written on [`HttpClient::connect`] rather than a pooling client crate: one server,
//! one connection, one request at a time needs no pool.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use super::http_client::{origin_form, within, Connection, HttpClient};
use crate::Clock;

/// A client holding at most one open connection, to the server of its last request.
#[derive(Debug)]
pub struct KeptConnection {
    client: HttpClient,
    open: Option<Open>,
}

struct Open {
    /// `scheme://authority` of the server it is connected to.
    origin: String,
    connection: Connection,
}

impl std::fmt::Debug for Open {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open")
            .field("origin", &self.origin)
            .finish()
    }
}

/// How one exchange on a connection went.
enum Exchange {
    /// Answered; whether the connection may carry the next request.
    Answered(http::Response<Bytes>, bool),
    /// No answer came: on a reused connection, the server may have closed it meanwhile.
    NoAnswer(String),
    /// The answer broke off while its body was read.
    Broken(String),
}

impl KeptConnection {
    /// A client opening its connections with `client`.
    pub fn new(client: HttpClient) -> KeptConnection {
        KeptConnection { client, open: None }
    }

    /// Sends `request` (its URI absolute) on the kept connection, or on a new one, within
    /// `timeout` on `clock`. The answer keeps at most `limit` bytes of its body; the rest is
    /// read and discarded. Errors name the URL and say what failed; any status is an answer.
    pub async fn send_within(
        &mut self,
        request: http::Request<Bytes>,
        limit: usize,
        clock: &Clock,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, String> {
        let uri = request.uri().clone();
        let outcome = within(&uri, clock, timeout, self.send(request, limit)).await;
        if outcome.is_err() {
            // In an unknown state (a half-read answer, perhaps): never reused.
            self.open = None;
        }
        outcome
    }

    async fn send(
        &mut self,
        request: http::Request<Bytes>,
        limit: usize,
    ) -> Result<http::Response<Bytes>, String> {
        let uri = request.uri().clone();
        let origin = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map_or("", |a| a.as_str())
        );
        let kept = self
            .open
            .take()
            .filter(|open| open.origin == origin && !open.connection.sender.is_closed());
        if let Some(mut open) = kept {
            if open.connection.sender.ready().await.is_ok() {
                match exchange(&mut open.connection, copy_of(&request), limit).await? {
                    Exchange::Answered(response, reusable) => {
                        self.open = reusable.then_some(open);
                        return Ok(response);
                    }
                    // The server closed the idle connection as the request went out: the
                    // request goes again, once, on a new connection.
                    Exchange::NoAnswer(_) => {}
                    Exchange::Broken(e) => return Err(e),
                }
            }
        }
        let mut open = Open {
            origin,
            connection: self.client.connect(&uri).await?,
        };
        match exchange(&mut open.connection, request, limit).await? {
            Exchange::Answered(response, reusable) => {
                self.open = reusable.then_some(open);
                Ok(response)
            }
            Exchange::NoAnswer(e) | Exchange::Broken(e) => Err(e),
        }
    }
}

async fn exchange(
    connection: &mut Connection,
    request: http::Request<Bytes>,
    limit: usize,
) -> Result<Exchange, String> {
    let uri = request.uri().clone();
    let response = match connection.sender.send_request(origin_form(request)?).await {
        Ok(response) => response,
        Err(e) => return Ok(Exchange::NoAnswer(format!("{uri}: {e}"))),
    };
    let closes = response
        .headers()
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
        });
    let (parts, mut body) = response.into_parts();
    let mut kept = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return Ok(Exchange::Broken(format!("{uri}: {e}"))),
        };
        if let Ok(data) = frame.into_data() {
            let room = limit.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    let reusable = !closes && parts.version == http::Version::HTTP_11;
    Ok(Exchange::Answered(
        http::Response::from_parts(parts, kept.freeze()),
        reusable,
    ))
}

/// A copy of `request` to send again (`http::Request` is not `Clone`; its body here is
/// cheap to clone).
fn copy_of(request: &http::Request<Bytes>) -> http::Request<Bytes> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}
