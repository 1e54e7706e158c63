//! Reloads on a changed gateway.toml (a poll of the file) and on SIGHUP.
//!
//! The watch polls the file's modification time on an interval and hashes its bytes when that
//! changes, rather than subscribing to OS file events: one `stat` a second costs nothing, needs
//! no extra crate, and works the same on every filesystem (bind mounts, network shares, and
//! editors that replace the file by rename, where inotify watches go stale).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::stack::Stack;

/// How often `portico serve` looks at its config file.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Remembers what a file looked like, to tell when it changed.
pub struct FileWatch {
    path: PathBuf,
    modified: Option<SystemTime>,
    hash: Option<u64>,
}

impl FileWatch {
    /// Starts watching `path` as it is now.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let mut watch = FileWatch {
            path: path.into(),
            modified: None,
            hash: None,
        };
        watch.changed();
        watch
    }

    /// Whether the file's content differs from the last look (a touch without a change, or
    /// a file that cannot be read, is no change).
    pub fn changed(&mut self) -> bool {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified.is_none() || modified == self.modified {
            return false;
        }
        self.modified = modified;
        let Ok(bytes) = std::fs::read(&self.path) else {
            return false;
        };
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        let hash = Some(hasher.finish());
        let changed = self.hash.is_some() && hash != self.hash;
        self.hash = hash;
        changed
    }
}

/// Reloads `stack` whenever its config file changes; runs until the task is aborted.
pub async fn watch_file(stack: Stack, path: PathBuf, every: Duration) {
    let mut watch = FileWatch::new(path);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if watch.changed() {
            tracing::info!("config file changed; reloading");
            // An invalid file is logged by `reload` and the running config kept.
            let _ = stack.reload().await;
        }
    }
}

/// Reloads `stack` on every SIGHUP; runs until the task is aborted.
#[cfg(unix)]
pub async fn reload_on_sighup(stack: Stack) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP reload unavailable");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP; reloading the config");
        let _ = stack.reload().await;
    }
}
