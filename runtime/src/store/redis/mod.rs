//! [`RedisStore`]: the [`Store`](super::Store) several Portico replicas share.
//!
//! Every check is one round trip: counters and token buckets are Lua scripts (see
//! [`scripts`]), and a whole request's admission is one script, shared with the admissions
//! queued behind the one in flight (see [`admit`], [`batch`]); expiry is
//! `PEXPIREAT` at the [`Clock`]'s absolute instants, records are hashes listed by `SCAN` on
//! their prefix, and every key lives under `<namespace>:`. The connection is a multiplexed
//! [`ConnectionManager`], so concurrent requests share one socket (pipelined by the driver)
//! and it reconnects with exponential backoff — or, with `cluster`, a cluster connection
//! that routes by hash slot (see [`conn`]; an admission is then one script per slot group).
//!
//! While Redis is unreachable no request waits on it: the first failure marks the store
//! unavailable (logged once), a background probe pings with backoff until Redis answers
//! (logged once as recovered), and meanwhile the configured [`OnUnavailable`] decides —
//! fail closed answers [`StoreError::Unavailable`]; fail open counts limits in a local
//! [`MemoryStore`] (each replica alone). Records need Redis in both modes.

mod admission;
mod admit;
mod batch;
mod codec;
mod conn;
mod list;
mod probe;
mod scripts;
mod store;

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::RedisError;

use super::{MemoryStore, StoreError, StoreHealth};
use crate::config::{OnUnavailable, StoreConfig};
use crate::Clock;
use batch::Batchers;
use conn::Conn;
use scripts::Scripts;

/// Settings of a [`RedisStore`] beyond its URL.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// What to do while Redis is unreachable.
    pub on_unavailable: OnUnavailable,
    /// How long one operation may take before Redis counts as unreachable.
    pub op_timeout: Duration,
    /// Prefix of every key, followed by `:`; replicas that share state use the same one.
    pub namespace: String,
    /// Whether the URL names a node of a Redis Cluster (its masters are discovered from it).
    pub cluster: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            on_unavailable: OnUnavailable::FailClosed,
            op_timeout: StoreConfig::default().op_timeout,
            namespace: "portico".to_owned(),
            cluster: false,
        }
    }
}

/// A [`Store`](super::Store) in Redis, shared by every process that connects to it.
pub struct RedisStore {
    link: Arc<Link>,
    scripts: Scripts,
    /// Counters and buckets while Redis is unreachable in fail-open mode.
    fallback: MemoryStore,
    /// `<namespace>:`
    prefix: String,
    /// Where records live: `<namespace>:`, or on a cluster `<namespace>:{records}`, one
    /// hash slot, so a prefix is listed by scanning one master.
    record_prefix: String,
    /// Whether this is a Redis Cluster: multi-key scripts then run once per hash slot.
    cluster: bool,
    /// The queues admissions wait in for the next batched `ADMIT` call.
    batchers: Batchers,
}

/// The connection and what the background probe shares with the store.
struct Link {
    conn: Conn,
    health: Arc<StoreHealth>,
    probing: AtomicBool,
    op_timeout: Duration,
}

/// Why a Redis call did not produce a value.
enum Failure {
    /// Redis is unreachable (or was already known to be): apply the failure mode.
    Down,
    /// Redis answered with an error (wrong type, overflow, script error).
    Refused(RedisError),
}

/// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`), checking it
/// answers; an unreachable or malformed URL is an error, never a silent fallback.
pub async fn connect(
    url: &str,
    options: RedisOptions,
    clock: Clock,
) -> Result<RedisStore, StoreError> {
    let shown = redact(url);
    let unreachable = |e: &dyn std::fmt::Display| {
        StoreError::Unavailable(format!("cannot reach Redis at `{shown}`: {e}"))
    };
    let mut conn = if options.cluster {
        let client = ClusterClientBuilder::new(vec![url])
            .connection_timeout(options.op_timeout)
            .response_timeout(options.op_timeout)
            .retries(2)
            .build()
            .map_err(|e| StoreError::Backend(format!("invalid Redis URL `{shown}`: {e}")))?;
        let conn = tokio::time::timeout(options.op_timeout * 3, client.get_async_connection())
            .await
            .map_err(|_| unreachable(&"no answer from the cluster"))?
            .map_err(|e| unreachable(&e))?;
        Conn::Cluster(conn)
    } else {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Backend(format!("invalid Redis URL `{shown}`: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.op_timeout))
            .set_response_timeout(Some(options.op_timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| unreachable(&e))?;
        Conn::Single(conn)
    };
    let pong: String = tokio::time::timeout(
        options.op_timeout,
        redis::cmd("PING").query_async(&mut conn),
    )
    .await
    .map_err(|_| unreachable(&"no answer to PING"))?
    .map_err(|e| unreachable(&e))?;
    if pong != "PONG" {
        return Err(unreachable(&format!("PING answered `{pong}`")));
    }
    let health = Arc::new(StoreHealth::new(
        format!("redis {shown}"),
        options.on_unavailable,
    ));
    let link = Arc::new(Link {
        conn,
        health,
        probing: AtomicBool::new(false),
        op_timeout: options.op_timeout,
    });
    let scripts = Scripts::new();
    let batchers = Batchers::new(&link, &scripts.admit, options.cluster);
    Ok(RedisStore {
        link,
        scripts,
        fallback: MemoryStore::new(clock),
        prefix: format!("{}:", options.namespace),
        record_prefix: match options.cluster {
            true => format!("{}:{{records}}", options.namespace),
            false => format!("{}:", options.namespace),
        },
        cluster: options.cluster,
        batchers,
    })
}

/// Connects the Redis store `[store]` names (`url`, `on_unavailable`, `cluster`,
/// `op_timeout`).
pub async fn open(config: &StoreConfig, clock: Clock) -> Result<Arc<dyn super::Store>, StoreError> {
    let url = config
        .url
        .as_deref()
        .ok_or_else(|| StoreError::Backend("`[store] kind = \"redis\"` needs `url`".into()))?;
    let options = RedisOptions {
        on_unavailable: config.on_unavailable,
        cluster: config.cluster,
        op_timeout: config.op_timeout,
        ..RedisOptions::default()
    };
    Ok(Arc::new(connect(url, options, clock).await?))
}

impl RedisStore {
    /// What this store does while Redis is unreachable.
    pub fn mode(&self) -> OnUnavailable {
        self.link.health.mode()
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    fn full_key<'a>(&'a self, key: &'a str) -> codec::FullKey<'a> {
        codec::FullKey {
            prefix: &self.prefix,
            key,
        }
    }

    fn record_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.record_prefix.len() + key.len());
        full.push_str(&self.record_prefix);
        full.push_str(key);
        full
    }

    /// Runs one Redis call unless Redis is known to be down, classifying its failure.
    async fn call<T, F>(&self, op: impl FnOnce(Conn) -> F) -> Result<T, Failure>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.link.call(op).await
    }
}

impl Link {
    /// Runs one Redis call unless Redis is known to be down, classifying its failure; a
    /// connection failure or timeout marks Redis down and starts the recovery probe.
    async fn call<T, F>(self: &Arc<Self>, op: impl FnOnce(Conn) -> F) -> Result<T, Failure>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if !self.health.is_available() {
            return Err(Failure::Down);
        }
        match tokio::time::timeout(self.op_timeout, op(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if answered(&e) => Err(Failure::Refused(e)),
            Ok(Err(e)) => {
                probe::start(self, &e.to_string());
                Err(Failure::Down)
            }
            Err(_) => {
                probe::start(self, "operation timed out");
                Err(Failure::Down)
            }
        }
    }
}

/// Whether the error is an answer (Redis refused the command, or its reply did not fit),
/// as opposed to a connection that failed.
fn answered(e: &RedisError) -> bool {
    // Redis says these while it cannot serve yet; they mean "unavailable", not "refused".
    const NOT_READY: [&str; 4] = ["LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"];
    let connection_failed = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || e.code().is_some_and(|code| NOT_READY.contains(&code));
    !connection_failed
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }
}
