//! `[store] op_timeout`: how long one Redis call may take before Redis counts as unavailable.
//! A Redis that stops answering makes a request answer as `on_unavailable` says once that
//! time is up — 503 under `fail_closed`, served on local limits under `fail_open` — instead of
//! hanging, while a replica with a long `op_timeout` is still waiting on the same silence.
//! Bad values are config errors at their file:line:col.

mod redis_support;
mod store;

use std::process::Command;
use std::sync::Arc;

use redis_support::replica_toml::{replica_toml, Replicas, KEY};
use redis_support::silent::SilentRelay;
use redis_support::RedisServer;
use serde_json::json;
use store::{Portico, TempDir, BIN};

/// `portico validate` on a config whose `[store]` is `store`: its stderr and the file's name.
fn refused(dir: &TempDir, name: &str, store: &str) -> (String, String) {
    let path = dir.write(name, &format!("[store]\n{store}"));
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{store}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stderr, path.display().to_string())
}

#[test]
fn a_bad_op_timeout_is_a_config_error_at_its_place() {
    let dir = TempDir::new("store-op-timeout");
    let redis = "kind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n";
    for (value, says) in [
        ("soon", "`[store] op_timeout`: `soon` is not a duration"),
        ("2", "`[store] op_timeout`: `2` needs a unit"),
        (
            "0s",
            "`[store] op_timeout`: `0s` must be between 10ms and 60s",
        ),
        (
            "5ms",
            "`[store] op_timeout`: `5ms` must be between 10ms and 60s",
        ),
        (
            "61s",
            "`[store] op_timeout`: `61s` must be between 10ms and 60s",
        ),
        (
            "2m",
            "`[store] op_timeout`: `2m` must be between 10ms and 60s",
        ),
    ] {
        let store = format!("{redis}op_timeout = \"{value}\"\n");
        let (stderr, shown) = refused(&dir, "bad.toml", &store);
        assert!(
            stderr.contains(&format!("{shown}:4:14: {says}")),
            "{value}: {stderr}"
        );
    }
    // Only Redis has calls to time out: on another kind it would be silently ignored.
    let (stderr, shown) = refused(
        &dir,
        "embedded.toml",
        "kind = \"embedded\"\nop_timeout = \"2s\"\n",
    );
    assert!(
        stderr.contains(&format!(
            "{shown}:3:14: `[store] op_timeout` only applies to `kind = \"redis\"`"
        )),
        "{stderr}"
    );
    let (stderr, shown) = refused(&dir, "unset.toml", "op_timeout = \"2s\"\n");
    assert!(
        stderr.contains(&format!("{shown}:2:14: `[store] op_timeout` only applies")),
        "{stderr}"
    );
    // The bounds themselves are accepted.
    for value in ["10ms", "60s"] {
        let path = dir.write(
            "good.toml",
            &format!("[store]\n{redis}op_timeout = \"{value}\"\n"),
        );
        let out = Command::new(BIN)
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{value}: {:?}", out);
    }
}

/// A replica on the relay at `url` with `[store]` lines `store`, started off the runtime's
/// threads (the relay serves its start-up reads meanwhile).
async fn replica(dir: &TempDir, name: &str, url: &str, store: &str) -> Arc<Portico> {
    let config = replica_toml(&Replicas {
        url,
        store,
        quota: 1000,
        ..Replicas::default()
    });
    let path = dir.write(name, &config);
    let portico = tokio::task::spawn_blocking(move || Portico::start(&path))
        .await
        .unwrap();
    Arc::new(portico)
}

async fn keyed(p: &Portico, path: &str) -> (u16, serde_json::Value) {
    p.send("GET", path, &[("x-api-key", KEY)], "")
        .await
        .unwrap()
}

/// The status of `path` once Redis keeps up: on a machine loaded by a whole CI run a call
/// through the relay can outlive a short `op_timeout` (and answer 503) before the test has
/// silenced anything, so a healthy replica is asked again, a bounded number of times.
async fn settled(p: &Portico, path: &str) -> u16 {
    let mut status = 0;
    for _ in 0..20 {
        status = keyed(p, path).await.0;
        if status != 503 {
            break;
        }
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_is_unavailable_after_op_timeout_not_a_hang() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("store-op-timeout-silent");
    let (closed, open, patient) = (
        SilentRelay::start(server.port).await,
        SilentRelay::start(server.port).await,
        SilentRelay::start(server.port).await,
    );
    let short = "op_timeout = \"300ms\"";
    let fail_closed = replica(
        &dir,
        "closed.toml",
        &closed.url,
        &format!("on_unavailable = \"fail_closed\"\n{short}"),
    )
    .await;
    let fail_open = replica(
        &dir,
        "open.toml",
        &open.url,
        &format!("on_unavailable = \"fail_open\"\n{short}"),
    )
    .await;
    let waiting = replica(
        &dir,
        "patient.toml",
        &patient.url,
        "on_unavailable = \"fail_closed\"\nop_timeout = \"60s\"",
    )
    .await;
    for p in [&fail_closed, &fail_open, &waiting] {
        assert_eq!(settled(p, "/prod/pets/a").await, 200);
    }
    for relay in [&closed, &open, &patient] {
        relay.go_silent();
    }

    // The patient replica's request is at Redis (its admission script swallowed)...
    let pending = {
        let waiting = waiting.clone();
        tokio::spawn(async move { keyed(&waiting, "/prod/pets/b").await })
    };
    assert!(
        patient.until_swallowed("EVALSHA").await,
        "never reached Redis"
    );
    // ... when the others answer, each as its on_unavailable says, once op_timeout passed.
    let (closed_answer, open_answer) = tokio::join!(
        keyed(&fail_closed, "/prod/pets/b"),
        keyed(&fail_open, "/prod/pets/b")
    );
    assert_eq!(
        closed_answer,
        (503, json!({"message": "Service Unavailable"}))
    );
    assert_eq!(open_answer.0, 200);
    assert!(
        !pending.is_finished(),
        "with op_timeout = 60s the same request still waits"
    );
    pending.abort();
}
