//! Three real `portico serve` processes sharing one `redis-server`: limits hold in aggregate,
//! keys and executions created through one replica are seen by the others, a Redis outage
//! follows the configured failure mode and heals without a restart, and an unreachable Redis
//! at start-up is a clear error.

mod redis_support;
mod store;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_support::replica_toml::{replica_toml, Replicas, KEY};
use redis_support::RedisServer;
use serde_json::json;
use store::{Portico, TempDir, BIN};

fn config(url: &str, mode: &str, quota: u64, stage_throttle: &str) -> String {
    config_with_store(
        url,
        &format!("on_unavailable = \"{mode}\""),
        quota,
        stage_throttle,
    )
}

/// [`config`] with `store` as the lines under `[store]` after `kind` and `url`.
fn config_with_store(url: &str, store: &str, quota: u64, stage_throttle: &str) -> String {
    replica_toml(&Replicas {
        url,
        store,
        stage: stage_throttle,
        quota,
        extra: r#"
[[apis.shop.routes]]
route = "GET /open"
function = "echo"

[workflows.slow]
definition = "slow.json"
"#,
        ..Replicas::default()
    })
}

const SLOW: &str =
    r#"{"StartAt":"Nap","States":{"Nap":{"Type":"Wait","Seconds":86400,"End":true}}}"#;

fn replicas(dir: &TempDir, config: &str, n: usize) -> Vec<Arc<Portico>> {
    dir.write("slow.json", SLOW);
    let path = dir.write("gateway.toml", config);
    (0..n).map(|_| Arc::new(Portico::start(&path))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_of_n_admits_exactly_n_across_three_replicas() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-quota");
    let n = 100;
    // A loaded 2-core CI machine once held one Redis call past the default 1 s `op_timeout`
    // (a 503 under `fail_closed`): this test races the quota, not the timeout.
    let store = "on_unavailable = \"fail_closed\"\nop_timeout = \"5s\"";
    let ps = replicas(&dir, &config_with_store(&server.url(), store, n, ""), 3);
    // 128 concurrent clients spread over the replicas, four requests each: concurrent enough
    // to race the quota.
    let tasks: Vec<_> = (0..128)
        .map(|c| {
            let p = ps[c % ps.len()].clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for r in 0..4 {
                    let path = format!("/prod/pets/{c}-{r}");
                    let (status, body) = p
                        .send("GET", &path, &[("x-api-key", KEY)], "")
                        .await
                        .unwrap();
                    statuses.push((status, body));
                }
                statuses
            })
        })
        .collect();
    let (mut ok, mut limited) = (0, 0);
    for task in tasks {
        for (status, body) in task.await.unwrap() {
            match status {
                200 => ok += 1,
                429 => {
                    assert_eq!(body, json!({"message": "Limit Exceeded"}));
                    limited += 1;
                }
                other => panic!("unexpected {other} {body}"),
            }
        }
    }
    assert_eq!((ok, limited), (n, 512 - n));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_and_executions_created_on_one_replica_are_seen_by_the_others() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-state");
    let ps = replicas(&dir, &config(&server.url(), "fail_closed", 1000, ""), 3);

    let value = "shared-runtime-key-0123456789";
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
    for p in &ps[1..] {
        let (status, body) = p
            .send("GET", "/prod/pets/x", &[("x-api-key", value)], "")
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = ps[1]
        .send(
            "GET",
            "/prod/pets/x",
            &[("x-api-key", "never-created-0123456789")],
            "",
        )
        .await
        .unwrap();
    assert_eq!(status, 403);

    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:slow";
    let (status, started) = ps[0]
        .sfn(
            "StartExecution",
            json!({"stateMachineArn": arn, "input": "{\"n\": 7}"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{started}");
    let execution = started["executionArn"].clone();
    let (status, seen) = ps[1]
        .sfn("DescribeExecution", json!({"executionArn": execution}))
        .await
        .unwrap();
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        (seen["status"].as_str(), seen["input"].as_str()),
        (Some("RUNNING"), Some("{\"n\":7}"))
    );
    let (status, _) = ps[0]
        .sfn("StopExecution", json!({"executionArn": execution}))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (_, seen) = ps[2]
        .sfn("DescribeExecution", json!({"executionArn": execution}))
        .await
        .unwrap();
    assert_eq!(seen["status"], "ABORTED");
    let (status, history) = ps[2]
        .sfn("GetExecutionHistory", json!({"executionArn": execution}))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        history["events"].as_array().is_some_and(|e| e.len() >= 2),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stage_throttle_holds_in_aggregate_across_three_replicas() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-throttle");
    let rate = 40.0;
    let throttle = format!("throttle = {{ rate_limit = {rate}, burst_limit = 40 }}");
    let ps = replicas(
        &dir,
        &config(&server.url(), "fail_closed", 1000, &throttle),
        3,
    );
    // Runs in wall time (three processes share the bucket): a short window, measured after
    // a warm-up that empties the burst, so only the steady rate is counted.
    let warm_up = Duration::from_millis(1500);
    let window = Duration::from_secs(3);
    let stop = Arc::new(AtomicBool::new(false));
    let admitted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..24)
        .map(|c| {
            let (p, stop, admitted, refused) = (
                ps[c % 3].clone(),
                stop.clone(),
                admitted.clone(),
                refused.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match p.send("GET", "/prod/open", &[], "").await.unwrap() {
                        (200, _) => admitted.fetch_add(1, Ordering::Relaxed),
                        (429, _) => refused.fetch_add(1, Ordering::Relaxed),
                        (other, body) => panic!("unexpected {other} {body}"),
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(warm_up).await;
    let (start, before) = (Instant::now(), admitted.load(Ordering::Relaxed));
    tokio::time::sleep(window).await;
    let (elapsed, after) = (
        start.elapsed().as_secs_f64(),
        admitted.load(Ordering::Relaxed),
    );
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let counted = (after - before) as f64;
    let expected = rate * elapsed;
    let refused = refused.load(Ordering::Relaxed);
    eprintln!(
        "throttle {rate} rps, 3 replicas, {elapsed:.2} s window: {counted} admitted (expected {expected:.0}), {refused} refused in all"
    );
    assert!(refused > after, "the clients did not outrun the limit");
    assert!(
        (counted - expected).abs() <= 0.1 * expected,
        "{counted} admitted in the window, expected {expected:.0} ± 10%"
    );
}

/// Sends keyed requests until one answers `want` (Redis restarted under the replica).
async fn until_status(p: &Portico, want: u16) -> bool {
    for _ in 0..200 {
        let (status, _) = p
            .send("GET", "/prod/pets/r", &[("x-api-key", KEY)], "")
            .await
            .unwrap();
        if status == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_fails_closed_then_heals_without_a_restart() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-closed");
    let ps = replicas(&dir, &config(&server.url(), "fail_closed", 1000, ""), 2);
    for p in &ps {
        let (status, _) = p
            .send("GET", "/prod/pets/a", &[("x-api-key", KEY)], "")
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    server.stop();
    for p in &ps {
        for _ in 0..3 {
            let (status, body) = p
                .send("GET", "/prod/pets/b", &[("x-api-key", KEY)], "")
                .await
                .unwrap();
            assert_eq!(
                (status, body),
                (503, json!({"message": "Service Unavailable"}))
            );
        }
        // The process keeps serving what needs no store.
        let (status, _) = p.sfn("ListStateMachines", json!({})).await.unwrap();
        assert_eq!(status, 200);
    }
    server.restart();
    for p in &ps {
        assert!(until_status(p, 200).await, "the replica did not recover");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_fails_open_on_local_limits_then_heals() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-open");
    let quota = 5;
    let ps = replicas(&dir, &config(&server.url(), "fail_open", quota, ""), 2);
    let (status, _) = ps[0]
        .send("GET", "/prod/pets/a", &[("x-api-key", KEY)], "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    server.stop();
    // Each replica now counts alone, from zero, and still enforces the quota.
    for p in &ps {
        let mut statuses = Vec::new();
        for _ in 0..quota + 1 {
            let (status, _) = p
                .send("GET", "/prod/pets/b", &[("x-api-key", KEY)], "")
                .await
                .unwrap();
            statuses.push(status);
        }
        let mut want = vec![200; quota as usize];
        want.push(429);
        assert_eq!(statuses, want);
    }
    server.restart();
    // The fresh Redis holds no counters: admitted again once the replica is back on it.
    for p in &ps {
        assert!(until_status(p, 200).await, "the replica did not recover");
    }
    // Counting is shared again: those two admissions and `quota - 2` more, over both
    // replicas, use the quota up on both (each alone would admit `quota` again).
    let mut statuses = Vec::new();
    for i in 0..quota as usize {
        let (status, _) = ps[i % 2]
            .send("GET", "/prod/pets/c", &[("x-api-key", KEY)], "")
            .await
            .unwrap();
        statuses.push(status);
    }
    let mut want = vec![200; quota as usize - 2];
    want.extend([429, 429]);
    assert_eq!(statuses, want);
}

#[test]
fn an_unreachable_redis_at_start_up_is_a_clear_error() {
    let dir = TempDir::new("replicas-unreachable");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    dir.write("slow.json", SLOW);
    let url = format!("redis://127.0.0.1:{closed}");
    let path = dir.write("gateway.toml", &config(&url, "fail_open", 10, ""));
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot start on the Redis store") && stderr.contains(&url),
        "{stderr}"
    );
    assert!(
        !dir.0.join(".portico").exists(),
        "no fallback to a local store"
    );
}
