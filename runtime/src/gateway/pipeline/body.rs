//! Pipeline step 5: the request body — left streaming until a stage needs it, then read once
//! within the payload limit.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use super::Failure;
use crate::gateway::error::GatewayError;

/// The request body: still streaming, or already read (IAM routes read it to authorize).
pub(super) enum PendingBody<B> {
    Unread(B),
    Read(Bytes),
}

impl<B> PendingBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    /// The whole body, read within the limit unless it already was.
    pub(super) async fn read(self, limit: u64) -> Result<Bytes, Failure> {
        match self {
            PendingBody::Read(bytes) => Ok(bytes),
            // Most requests (GETs) have no body: nothing to collect.
            PendingBody::Unread(body) if http_body::Body::is_end_stream(&body) => Ok(Bytes::new()),
            PendingBody::Unread(body) => read_body(body, limit).await,
        }
    }
}

/// Refuses a declared `Content-Length` over the limit before any byte is read.
pub(super) fn check_declared_length(headers: &http::HeaderMap, limit: u64) -> Result<(), Failure> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err((
            GatewayError::PayloadTooLarge,
            format!("content-length over {limit} bytes"),
        ));
    }
    Ok(())
}

/// Reads the body within the limit.
pub(super) async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, Failure>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    match Limited::new(body, limit as usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err((
            GatewayError::PayloadTooLarge,
            format!("body over {limit} bytes"),
        )),
        Err(e) => Err((
            GatewayError::BadRequest,
            format!("reading the body failed: {e}"),
        )),
    }
}
