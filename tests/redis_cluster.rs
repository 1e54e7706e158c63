//! Portico on a real three-master Redis Cluster (`[store] cluster = true`): admissions run
//! as at most two scripts (global buckets, then the key's hash-tagged group), key records
//! live in one slot so they list from one master, two replicas share a quota exactly and a
//! key created on one works on the other, and `cluster` on another kind is a config error.

mod redis_support;
mod store;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use portico_runtime::config::OnUnavailable;
use portico_runtime::store::redis::{connect, RedisOptions, RedisStore};
use portico_runtime::store::{AdmitRefusal, AdmitStep, Store};
use portico_runtime::Clock;
use redis_support::replica_toml::{replica_toml, Replicas, KEY};
use redis_support::RedisCluster;
use serde_json::json;
use store::{Portico, TempDir, BIN};

async fn cluster_store(cluster: &RedisCluster, clock: Clock) -> Arc<RedisStore> {
    let options = RedisOptions {
        on_unavailable: OnUnavailable::FailClosed,
        cluster: true,
        ..RedisOptions::default()
    };
    Arc::new(connect(&cluster.url(), options, clock).await.unwrap())
}

/// The sum over the cluster's masters of Redis's count of `command` calls.
fn calls(cluster: &RedisCluster, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    cluster
        .ports
        .iter()
        .map(|port| {
            let out = Command::new("redis-cli")
                .args(["-p", &port.to_string(), "INFO", "commandstats"])
                .output()
                .expect("redis-cli runs");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_is_two_scripts_and_keeps_its_semantics_across_slots() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let clock = Clock::manual(SystemTime::now());
    let store = cluster_store(&cluster, clock.clone()).await;
    // The tags the traffic layer uses: the account group, then the key's group.
    let steps = [
        AdmitStep::Watch {
            key: "{traffic}/apikey-version",
        },
        AdmitStep::Take {
            key: "{traffic}/throttle/account",
            rate_per_sec: 1.0,
            burst: 3,
        },
        AdmitStep::Take {
            key: "throttle/plan/{basic/k1}",
            rate_per_sec: 100.0,
            burst: 100,
        },
        AdmitStep::Quota {
            key: "quota/{basic/k1}/0",
            limit: 2,
            expires_at: None,
        },
        AdmitStep::Usage {
            key: "usage/{basic/k1}/2026-01-01",
            expires_at: None,
        },
    ];
    store
        .add_counter("{traffic}/apikey-version", 4, None)
        .await
        .unwrap();
    let before = calls(&cluster, "evalsha") + calls(&cluster, "eval");
    let first = store.admit(&steps, clock.now()).await.unwrap();
    assert_eq!(
        (first.refusal, first.quota_used, first.watched),
        (None, Some(1), Some(4))
    );
    let second = store.admit(&steps, clock.now()).await.unwrap();
    assert_eq!(second.quota_used, Some(2));
    let third = store.admit(&steps, clock.now()).await.unwrap();
    assert_eq!(
        third.refusal,
        Some(AdmitRefusal::QuotaExceeded { step: 3, used: 2 })
    );
    // The account bucket (3 tokens) is now empty: refused in the first script, so the
    // key's group (quota, usage) is not touched.
    let throttled = store.admit(&steps, clock.now()).await.unwrap();
    assert!(matches!(
        throttled.refusal,
        Some(AdmitRefusal::Throttled { step: 1, .. })
    ));
    assert_eq!(throttled.watched, Some(4));
    assert_eq!(
        store
            .get_counter("usage/{basic/k1}/2026-01-01")
            .await
            .unwrap(),
        2
    );
    // 3 admissions of two scripts and one refused by the first script alone; the first
    // EVALSHA on a master is answered NOSCRIPT (counted too) and retried after SCRIPT LOAD.
    let scripts = calls(&cluster, "evalsha") + calls(&cluster, "eval") - before;
    assert!((7..=7 + 3).contains(&scripts), "{scripts} script calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_list_from_one_slot_and_delete_cleanly() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let store = cluster_store(&cluster, Clock::system()).await;
    for i in 0..20 {
        let key = format!("apikey/k{i:02}");
        store
            .put(&key, Bytes::from(format!("{i}")), None)
            .await
            .unwrap();
    }
    store.put("other/x", Bytes::from("x"), None).await.unwrap();
    let listed = store.list("apikey/").await.unwrap();
    assert_eq!(listed.len(), 20);
    assert_eq!(listed[0], ("apikey/k00".to_owned(), Bytes::from("0")));
    assert_eq!(
        store.get("apikey/k07").await.unwrap(),
        Some(Bytes::from("7"))
    );
    assert!(store.delete("apikey/k07").await.unwrap());
    assert!(!store.delete("apikey/k07").await.unwrap());
    assert_eq!(store.list("apikey/").await.unwrap().len(), 19);
}

fn config(url: &str, quota: u64) -> String {
    replica_toml(&Replicas {
        url,
        store: "cluster = true",
        quota,
        plan: "throttle = { rate_limit = 1000000, burst_limit = 1000000 }",
        ..Replicas::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_a_cluster_share_a_quota_exactly_and_their_keys() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let dir = TempDir::new("cluster-replicas");
    let n = 60;
    let path = dir.write("gateway.toml", &config(&cluster.url(), n));
    let ps: Vec<_> = (0..2).map(|_| Arc::new(Portico::start(&path))).collect();
    let tasks: Vec<_> = (0..128)
        .map(|c| {
            let p = ps[c % ps.len()].clone();
            tokio::spawn(async move {
                let path = format!("/prod/pets/{c}");
                p.send("GET", &path, &[("x-api-key", KEY)], "")
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut ok, mut limited) = (0, 0);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => ok += 1,
            429 => {
                assert_eq!(body, json!({"message": "Limit Exceeded"}));
                limited += 1;
            }
            other => panic!("unexpected {other} {body}"),
        }
    }
    assert_eq!((ok, limited), (n, 128 - n));

    let value = "cluster-runtime-key-0123456789";
    let body = json!({"name": "shared", "value": value, "enabled": true});
    let (status, key) = ps[0]
        .send("POST", "/apikeys", &[], &body.to_string())
        .await
        .unwrap();
    assert_eq!(status, 201, "{key}");
    let join = json!({"keyId": key["id"], "keyType": "API_KEY"});
    let (status, _) = ps[0]
        .send("POST", "/usageplans/basic/keys", &[], &join.to_string())
        .await
        .unwrap();
    assert_eq!(status, 201);
    let (status, body) = ps[1]
        .send("GET", "/prod/pets/x", &[("x-api-key", value)], "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

#[test]
fn cluster_on_another_kind_is_a_config_error_with_its_position() {
    let dir = TempDir::new("cluster-config");
    let path = dir.write(
        "gateway.toml",
        "[store]\nkind = \"embedded\"\ncluster = true\n",
    );
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = path.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{shown}:3:11: `[store] cluster` only applies to `kind = \"redis\"`"
        )),
        "{stderr}"
    );
    let path = dir.write(
        "bad.toml",
        "[store]\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\ncluster = \"yes\"\n",
    );
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cluster"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_cluster_seed_is_a_clear_error() {
    let options = RedisOptions {
        cluster: true,
        op_timeout: Duration::from_millis(300),
        ..RedisOptions::default()
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let err = connect(&url, options, Clock::system()).await.err().unwrap();
    assert!(err.to_string().contains("cannot reach Redis"), "{err}");
}
