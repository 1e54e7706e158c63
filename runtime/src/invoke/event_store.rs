//! The asynchronous-invoke queue written to the [`Store`]: an accepted `Event` invocation is
//! recorded before the 202 is sent and removed when it ends (success, a destination, or a
//! logged drop), so events pending at a crash are run again after a restart, still bounded
//! by their original maximum event age. Destinations are part of the config, so they come
//! back with it.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Function;
use crate::store::{Store, StoreError, StoreExt};

/// Store keys of pending events: `asyncevent/{request id}`.
pub const EVENT_PREFIX: &str = "asyncevent/";

/// A pending event as stored.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredEvent {
    /// The function's name.
    pub function: String,
    /// The version that accepted it (`$LATEST` or a number).
    pub version: String,
    /// The payload, base64.
    pub payload: String,
    /// The trace header it came with.
    pub trace_id: Option<String>,
    /// When it was accepted, unix ms on the stack's clock.
    pub accepted_ms: u64,
}

fn key(request_id: &str) -> String {
    format!("{EVENT_PREFIX}{request_id}")
}

/// Records an accepted event.
pub(crate) async fn record(
    store: &dyn Store,
    function: &Function,
    request_id: &str,
    payload: &Bytes,
    trace_id: Option<&str>,
    accepted_ms: u64,
) -> Result<(), StoreError> {
    let event = StoredEvent {
        function: function.name().to_owned(),
        version: function.version().to_owned(),
        payload: base64::engine::general_purpose::STANDARD.encode(payload),
        trace_id: trace_id.map(str::to_owned),
        accepted_ms,
    };
    store.put_json(&key(request_id), &event, None).await
}

/// Removes an event that has ended.
pub(crate) async fn forget(store: &dyn Store, request_id: &str) {
    if let Err(e) = store.delete(&key(request_id)).await {
        // It will run again after a restart; at-least-once, as Lambda's own queue.
        tracing::warn!(error = %e, request_id, "finished event not removed from the store");
    }
}

/// Runs again every event pending in `store`, on the function `find` returns for its name.
/// Returns how many were resumed.
pub async fn resume_all(
    store: &Arc<dyn Store>,
    find: impl Fn(&str) -> Option<Arc<Function>>,
) -> Result<usize, StoreError> {
    let mut resumed = 0;
    for (store_key, bytes) in store.list(EVENT_PREFIX).await? {
        let request_id = store_key[EVENT_PREFIX.len()..].to_owned();
        let event: StoredEvent =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Codec {
                key: store_key.clone(),
                source,
            })?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&event.payload)
            .map_err(|e| StoreError::Backend(format!("record `{store_key}`: bad payload: {e}")))?;
        let function = find(&event.function).and_then(|f| f.qualified(Some(&event.version)));
        let Some(function) = function else {
            tracing::warn!(
                function = %event.function,
                version = %event.version,
                request_id,
                "pending event dropped: its function is no longer configured"
            );
            forget(store.as_ref(), &request_id).await;
            continue;
        };
        function.resume_async(
            request_id,
            Bytes::from(payload),
            event.trace_id,
            event.accepted_ms,
        );
        resumed += 1;
    }
    Ok(resumed)
}
