//! The recovery probe: while Redis is marked unreachable, one background task pings it with
//! exponential backoff and marks the store available again once it answers.
//!
//! Requests never wait for Redis while it is down; only this task talks to it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::Link;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Marks Redis unavailable (`reason` is logged on the change) and starts the probe unless
/// one is running.
pub(super) fn start(link: &Arc<Link>, reason: &str) {
    link.health.mark_unavailable(reason);
    if link.probing.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(link);
    tokio::spawn(run(weak));
}

async fn run(weak: Weak<Link>) {
    let mut delay = FIRST_DELAY;
    loop {
        // Network backoff is wall time on purpose: it paces a real socket, not the domain.
        tokio::time::sleep(delay).await;
        // The store was dropped: nobody needs to know any more.
        let Some(link) = weak.upgrade() else { return };
        let mut conn = link.conn.clone();
        let ping = redis::cmd("PING");
        let answer = tokio::time::timeout(link.op_timeout, ping.query_async::<String>(&mut conn));
        if let Ok(Ok(_)) = answer.await {
            link.probing.store(false, Ordering::Release);
            link.health.mark_available();
            return;
        }
        delay = (delay * 2).min(MAX_DELAY);
    }
}
