//! The writer thread of [`super::EmbeddedStore`]: the schema, and each operation applied
//! inside a group-commit transaction.

use std::path::Path;
use std::sync::mpsc;

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::ops::{Op, Reply};
use crate::store::{CounterDecision, StoreError};

/// `PRAGMA application_id` of a Portico store ("PRTC"), so another SQLite file is refused.
const APPLICATION_ID: i64 = 0x5052_5443;
/// `PRAGMA user_version` this version writes and reads.
const SCHEMA_VERSION: i64 = 1;
/// Most operations committed in one transaction; bounds a caller's wait behind others.
const MAX_BATCH: usize = 512;

/// Opens the database file, creating the schema in a new one and refusing a file that is
/// not a SQLite database, belongs to another program, or has another schema version.
pub(super) fn open_connection(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    // Another process on the same data directory holds the write lock only for a commit.
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let read = |pragma: &str| -> Result<i64, String> {
        conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
            .map_err(|e| e.to_string())
    };
    let (app_id, version) = (read("application_id")?, read("user_version")?);
    let tables = read("schema_version")?;
    if app_id == 0 && version == 0 && tables == 0 {
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE kv (
                 key TEXT PRIMARY KEY NOT NULL,
                 counter INTEGER,
                 record BLOB,
                 expires_ms INTEGER
             ) WITHOUT ROWID;
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .map_err(|e| format!("cannot create the schema: {e}"))?;
    } else if app_id != APPLICATION_ID {
        return Err("the file is a SQLite database of another program, not a Portico store".into());
    } else if version != SCHEMA_VERSION {
        return Err(format!(
            "the store has schema version {version}; this version of Portico reads version {SCHEMA_VERSION}"
        ));
    }
    // NORMAL in WAL mode: a commit is in the log (OS page cache) when it returns, which
    // survives a killed process; only power loss can drop the latest commits.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(|e| format!("cannot enable the write-ahead log: {e}"))?;
    Ok(conn)
}

/// Serves operations until every sender is dropped.
pub(super) fn run(mut conn: Connection, inbox: mpsc::Receiver<(Op, oneshot::Sender<Reply>)>) {
    while let Ok(first) = inbox.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let replies = commit_batch(&mut conn, &batch);
        for ((_, answer), reply) in batch.into_iter().zip(replies) {
            // A caller that gave up waiting is no reason to stop.
            let _ = answer.send(reply);
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: &[(Op, oneshot::Sender<Reply>)]) -> Vec<Reply> {
    let fail_all = |message: String| {
        tracing::error!(error = %message, "store transaction failed");
        batch
            .iter()
            .map(|(op, _)| Reply::failed(op, &message))
            .collect()
    };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(format!("cannot begin a transaction: {e}")),
    };
    let mut replies = Vec::with_capacity(batch.len());
    for (op, _) in batch {
        match apply(&tx, op) {
            Ok(reply) => replies.push(reply),
            Err(e) => return fail_all(e.to_string()),
        }
    }
    match tx.commit() {
        Ok(()) => replies,
        Err(e) => fail_all(format!("commit failed: {e}")),
    }
}

/// What a key holds: a counter or a record, if live.
enum Slot {
    Counter(u64),
    Record(Vec<u8>),
}

fn live(tx: &Transaction<'_>, key: &str, now_ms: i64) -> rusqlite::Result<Option<Slot>> {
    tx.prepare_cached(
        "SELECT counter, record FROM kv
         WHERE key = ?1 AND (expires_ms IS NULL OR expires_ms > ?2)",
    )?
    .query_row(params![key, now_ms], |row| {
        let counter: Option<i64> = row.get(0)?;
        // Counters are u64 stored bit for bit in SQLite's i64.
        Ok(match counter {
            Some(c) => Slot::Counter(c as u64),
            None => Slot::Record(row.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default()),
        })
    })
    .optional()
}

fn wrong_type(key: &str, expected: &'static str, found: &'static str) -> StoreError {
    StoreError::WrongType {
        key: key.to_owned(),
        expected,
        found,
    }
}

/// The live counter at `key` (None when absent or expired), or a type error.
fn counter(
    tx: &Transaction<'_>,
    key: &str,
    now_ms: i64,
) -> rusqlite::Result<Result<Option<u64>, StoreError>> {
    Ok(match live(tx, key, now_ms)? {
        None => Ok(None),
        Some(Slot::Counter(c)) => Ok(Some(c)),
        Some(Slot::Record(_)) => Err(wrong_type(key, "counter", "record")),
    })
}

/// Writes `value` at `key`: in place when the counter is live (keeping its expiry), as a new
/// counter with `expires_ms` otherwise.
fn set_counter(
    tx: &Transaction<'_>,
    key: &str,
    value: u64,
    was_live: bool,
    expires_ms: Option<i64>,
) -> rusqlite::Result<()> {
    if was_live {
        tx.prepare_cached("UPDATE kv SET counter = ?2 WHERE key = ?1")?
            .execute(params![key, value as i64])?;
    } else {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO kv (key, counter, record, expires_ms) VALUES (?1, ?2, NULL, ?3)",
        )?
        .execute(params![key, value as i64, expires_ms])?;
    }
    Ok(())
}

/// Applies one operation. An `Err` is a database failure that aborts the whole batch; a
/// caller's mistake (wrong type, overflow) is in the `Ok` reply and changes nothing.
fn apply(tx: &Transaction<'_>, op: &Op) -> rusqlite::Result<Reply> {
    Ok(match op {
        Op::IncrIfBelow {
            key,
            limit,
            expires_ms,
            now_ms,
        } => Reply::Decision(match counter(tx, key, *now_ms)? {
            Err(e) => Err(e),
            Ok(current) => {
                let count = current.unwrap_or(0);
                if count >= *limit {
                    Ok(CounterDecision::AtLimit(count))
                } else {
                    set_counter(tx, key, count + 1, current.is_some(), *expires_ms)?;
                    Ok(CounterDecision::Incremented(count + 1))
                }
            }
        }),
        Op::GetCounter { key, now_ms } => {
            Reply::Count(counter(tx, key, *now_ms)?.map(|c| c.unwrap_or(0)))
        }
        Op::AddCounter {
            key,
            delta,
            expires_ms,
            now_ms,
        } => Reply::Count(match counter(tx, key, *now_ms)? {
            Err(e) => Err(e),
            Ok(current) => match current.unwrap_or(0).checked_add(*delta) {
                None => Err(StoreError::Overflow(key.clone())),
                Some(next) => {
                    set_counter(tx, key, next, current.is_some(), *expires_ms)?;
                    Ok(next)
                }
            },
        }),
        Op::Get { key, now_ms } => Reply::Record(match live(tx, key, *now_ms)? {
            None => Ok(None),
            Some(Slot::Record(bytes)) => Ok(Some(Bytes::from(bytes))),
            Some(Slot::Counter(_)) => Err(wrong_type(key, "record", "counter")),
        }),
        Op::Put {
            key,
            value,
            expires_ms,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO kv (key, counter, record, expires_ms) VALUES (?1, NULL, ?2, ?3)",
            )?
            .execute(params![key, &value[..], expires_ms])?;
            Reply::Done(Ok(true))
        }
        Op::Delete { key, now_ms } => {
            let was_live = live(tx, key, *now_ms)?.is_some();
            tx.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute(params![key])?;
            Reply::Done(Ok(was_live))
        }
        Op::List { prefix, now_ms } => {
            let mut stmt = tx.prepare_cached(
                "SELECT key, record FROM kv
                 WHERE key >= ?1 AND record IS NOT NULL
                   AND (expires_ms IS NULL OR expires_ms > ?2)
                 ORDER BY key",
            )?;
            let mut rows = stmt.query(params![prefix, now_ms])?;
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                let key: String = row.get(0)?;
                // Keys sort after the prefix; the first that lacks it ends the range.
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                let bytes: Vec<u8> = row.get(1)?;
                found.push((key, Bytes::from(bytes)));
            }
            Reply::Records(Ok(found))
        }
        Op::Purge { now_ms } => {
            let purged = tx
                .prepare_cached("DELETE FROM kv WHERE expires_ms IS NOT NULL AND expires_ms <= ?1")?
                .execute(params![now_ms])?;
            Reply::Purged(Ok(purged))
        }
    })
}
