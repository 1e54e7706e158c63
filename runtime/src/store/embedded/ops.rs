//! The operations the writer thread of [`super::EmbeddedStore`] takes, and their answers.

use bytes::Bytes;

use crate::store::{CounterDecision, StoreError};

/// One request to the writer. Times are unix milliseconds on the stack's clock.
#[derive(Debug)]
pub(crate) enum Op {
    IncrIfBelow {
        key: String,
        limit: u64,
        expires_ms: Option<i64>,
        now_ms: i64,
    },
    GetCounter {
        key: String,
        now_ms: i64,
    },
    AddCounter {
        key: String,
        delta: u64,
        expires_ms: Option<i64>,
        now_ms: i64,
    },
    Get {
        key: String,
        now_ms: i64,
    },
    Put {
        key: String,
        value: Bytes,
        expires_ms: Option<i64>,
    },
    Delete {
        key: String,
        now_ms: i64,
    },
    List {
        prefix: String,
        now_ms: i64,
    },
    Purge {
        now_ms: i64,
    },
}

/// The answer to one [`Op`], sent once its transaction committed.
#[derive(Debug)]
pub(crate) enum Reply {
    Decision(Result<CounterDecision, StoreError>),
    Count(Result<u64, StoreError>),
    Record(Result<Option<Bytes>, StoreError>),
    Done(Result<bool, StoreError>),
    Records(Result<Vec<(String, Bytes)>, StoreError>),
    Purged(Result<usize, StoreError>),
}

impl Reply {
    /// The reply `op` gets when its transaction failed.
    pub(super) fn failed(op: &Op, message: &str) -> Reply {
        let err = || StoreError::Backend(message.to_owned());
        match op {
            Op::IncrIfBelow { .. } => Reply::Decision(Err(err())),
            Op::GetCounter { .. } | Op::AddCounter { .. } => Reply::Count(Err(err())),
            Op::Get { .. } => Reply::Record(Err(err())),
            Op::Put { .. } | Op::Delete { .. } => Reply::Done(Err(err())),
            Op::List { .. } => Reply::Records(Err(err())),
            Op::Purge { .. } => Reply::Purged(Err(err())),
        }
    }
}
