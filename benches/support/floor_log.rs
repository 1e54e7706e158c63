//! The logs a floor keeps: the least any implementation of the issues' logging must do per
//! request, and less than a real one does.
//!
//! Issue 2 mandates, per invocation, START, the handler's own `tracing` lines, END and
//! REPORT (with Duration and Max Memory Used) under the function's log group, and one
//! access-log line per request; issue 6 adds hit or miss to that line and CacheHitCount per
//! route. A floor keeps each as a compact record (formatted only if read, as Portico does),
//! in a bounded queue of the thread that served the request, and counts hits in a
//! thread-local cell. Nothing here can be read from another thread, there is no log group
//! or stream, no sequence number and no minute resolution: every real implementation costs
//! more, so a floor that keeps these logs bounds from above what one can reach.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use portico_runtime::observe::capture::CapturedLines;

/// Entries each thread keeps before dropping its oldest (Portico's bound per group).
const BOUND: usize = 10_000;

/// One invocation's log: START, the captured lines, END and REPORT.
pub struct InvocationLog {
    pub time_ms: u64,
    pub request_id: String,
    pub duration: Duration,
    pub max_memory_used_mb: u64,
    pub lines: CapturedLines,
}

/// One access-log line.
pub struct AccessLog {
    pub time_ms: u64,
    pub request_id: String,
    pub source_ip: IpAddr,
    pub method: http::Method,
    pub path: String,
    pub status: u16,
    pub response_length: u64,
    /// `Some(true)` for a cache hit, `Some(false)` for a miss, `None` off the cache.
    pub cache_hit: Option<bool>,
}

/// What a floor logged.
pub enum Entry {
    Invocation(InvocationLog),
    Access(AccessLog),
}

thread_local! {
    static ENTRIES: RefCell<VecDeque<Entry>> = RefCell::new(VecDeque::with_capacity(BOUND));
    static HITS: Cell<u64> = const { Cell::new(0) };
}

impl AccessLog {
    /// The access line of `req` from `remote`, answered at `time_ms` with `status` and
    /// `response_length` bytes.
    pub fn of<B>(
        req: &hyper::Request<B>,
        remote: std::net::SocketAddr,
        (time_ms, request_id): (u64, String),
        (status, response_length): (u16, u64),
        cache_hit: Option<bool>,
    ) -> Self {
        AccessLog {
            time_ms,
            request_id,
            source_ip: remote.ip(),
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            status,
            response_length,
            cache_hit,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Keeps `entry`, dropping this thread's oldest past the bound.
pub fn keep(entry: Entry) {
    ENTRIES.with(|entries| {
        let mut entries = entries.borrow_mut();
        if entries.len() == BOUND {
            entries.pop_front();
        }
        entries.push_back(entry);
    });
}

/// Counts one cache hit (CacheHitCount).
pub fn count_hit() {
    HITS.with(|hits| hits.set(hits.get() + 1));
}
