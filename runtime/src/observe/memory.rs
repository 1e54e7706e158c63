//! The "Max Memory Used" of REPORT lines.
//!
//! In-process handlers share the process, so the figure is the process's resident set size:
//! an upper bound on what one invocation used. It is sampled at most once per second so the
//! REPORT line costs no system call on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST_SAMPLE_SECS: AtomicU64 = AtomicU64::new(0);
static RSS_MB: AtomicU64 = AtomicU64::new(0);

/// The process's resident set size in MB, refreshed at most once per second.
pub fn max_memory_used_mb() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // A plain load first: every invocation on every thread reads this, and only the first
    // of a second may write the shared line (a swap per call moved it between cores).
    if LAST_SAMPLE_SECS.load(Ordering::Relaxed) != now
        && LAST_SAMPLE_SECS.swap(now, Ordering::Relaxed) != now
    {
        if let Some(mb) = read_rss_mb() {
            RSS_MB.store(mb, Ordering::Relaxed);
        }
    }
    RSS_MB.load(Ordering::Relaxed)
}

fn read_rss_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1024 * 1024))
}
