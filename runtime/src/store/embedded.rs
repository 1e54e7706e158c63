//! [`EmbeddedStore`]: the durable [`Store`] in a data directory, for one machine.
//!
//! Why SQLite (through rusqlite, with the library compiled in) rather than redb: in WAL mode
//! with `synchronous=NORMAL`, a committed transaction is in the write-ahead log in the OS page
//! cache when the commit returns, so it survives the process being killed (`kill -9`) without
//! an fsync per commit; only a power loss can take the last commits. redb makes a commit
//! durable only with an fsync (or not at all), which costs a disk flush per request batch. The
//! file is also readable with the `sqlite3` tool when something needs inspecting.
//!
//! All access goes through one thread that owns the connection, fed by a channel. It takes
//! every operation waiting in the channel, applies them in one transaction (group commit) and
//! answers each caller only after that transaction committed, so concurrent requests share a
//! commit instead of queueing behind one commit each, and nothing is acknowledged before it
//! is in the log. `incr_if_below` reads and writes inside that transaction, so it is atomic.

mod ops;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::oneshot;

use super::{CounterDecision, Store, StoreError};
use crate::Clock;
use ops::{Op, Reply};

/// The database file inside the data directory.
pub const DB_FILE: &str = "state.sqlite3";

/// Why the embedded store could not start. The message names the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the embedded store at `{}`: {reason}", path.display())]
pub struct OpenError {
    /// The directory or file at fault.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// A durable store in one SQLite file, written by one thread with group commit.
pub struct EmbeddedStore {
    clock: Clock,
    ops: mpsc::Sender<(Op, oneshot::Sender<Reply>)>,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (creating when missing) the store in `dir`, or says why it cannot, naming the
    /// path: a directory that cannot be created or written, a file that is not a SQLite
    /// database, or one written by an incompatible version.
    pub fn open(dir: &Path, clock: Clock) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|e| OpenError {
            path: dir.to_path_buf(),
            reason: format!("cannot create the data directory: {e}"),
        })?;
        let path = dir.join(DB_FILE);
        let conn = writer::open_connection(&path).map_err(|reason| OpenError {
            path: path.clone(),
            reason,
        })?;
        let (ops, inbox) = mpsc::channel();
        std::thread::Builder::new()
            .name("portico-store".into())
            .spawn(move || writer::run(conn, inbox))
            .map_err(|e| OpenError {
                path: path.clone(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(EmbeddedStore { clock, ops, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now_ms(&self) -> i64 {
        epoch_ms(self.clock.now())
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.ops
            .send((op, tx))
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))
    }
}

fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn unexpected(reply: Reply) -> StoreError {
    StoreError::Backend(format!("unexpected reply from the writer: {reply:?}"))
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn incr_if_below(
        &self,
        key: &str,
        limit: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<CounterDecision, StoreError> {
        let op = Op::IncrIfBelow {
            key: key.to_owned(),
            limit,
            expires_ms: expires_at.map(epoch_ms),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Decision(d) => d,
            other => Err(unexpected(other)),
        }
    }

    async fn get_counter(&self, key: &str) -> Result<u64, StoreError> {
        let op = Op::GetCounter {
            key: key.to_owned(),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Count(c) => c,
            other => Err(unexpected(other)),
        }
    }

    async fn add_counter(
        &self,
        key: &str,
        delta: u64,
        expires_at: Option<SystemTime>,
    ) -> Result<u64, StoreError> {
        let op = Op::AddCounter {
            key: key.to_owned(),
            delta,
            expires_ms: expires_at.map(epoch_ms),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Count(c) => c,
            other => Err(unexpected(other)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let op = Op::Get {
            key: key.to_owned(),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Record(r) => r,
            other => Err(unexpected(other)),
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        let op = Op::Put {
            key: key.to_owned(),
            value,
            expires_ms: expires_at.map(epoch_ms),
        };
        match self.call(op).await? {
            Reply::Done(r) => r.map(drop),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let op = Op::Delete {
            key: key.to_owned(),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Done(r) => r,
            other => Err(unexpected(other)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Bytes)>, StoreError> {
        let op = Op::List {
            prefix: prefix.to_owned(),
            now_ms: self.now_ms(),
        };
        match self.call(op).await? {
            Reply::Records(r) => r,
            other => Err(unexpected(other)),
        }
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        match self
            .call(Op::Purge {
                now_ms: self.now_ms(),
            })
            .await?
        {
            Reply::Purged(r) => r,
            other => Err(unexpected(other)),
        }
    }
}

#[cfg(test)]
mod tests;
