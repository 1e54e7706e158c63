//! Replicas sharing one `redis-server` share the deployment history: a deploy, rollback or
//! canary change made through one replica is served by the others after their once-a-second
//! check of the store's deployment version; concurrent deploys through two replicas all land,
//! each with its own id.

mod common;
mod redis_support;
mod store;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use portico_runtime::{Clock, Config, Registry, Stack};
use redis_support::RedisServer;
use serde_json::{json, Value};
use store::{Portico, TempDir};

/// The shop API on Redis, with `GET /old` and, when `with_new`, `GET /new`.
fn shop(url: &str, with_new: bool) -> String {
    let new = if with_new {
        "[[apis.shop.routes]]\nroute = \"GET /new\"\nfunction = \"echo\"\n"
    } else {
        ""
    };
    format!(
        r#"
[logs]
stdout = false
access_log = false

[store]
kind = "redis"
url = "{url}"

[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /old"
function = "echo"
{new}"#
    )
}

async fn deploy(p: &Portico, body: Value) -> String {
    let (status, res) = p
        .send("POST", "/restapis/shop/deployments", &[], &body.to_string())
        .await
        .unwrap();
    assert_eq!(status, 201, "{res}");
    res["id"].as_str().expect("id").to_owned()
}

async fn status(p: &Portico, path: &str) -> u16 {
    p.send("GET", path, &[], "").await.unwrap().0
}

/// Waits, up to a bound far above the one-second refresh, until `p` answers `path` with
/// `want`; answers how long that took.
async fn until_status(p: &Portico, path: &str, want: u16) -> Duration {
    let start = Instant::now();
    loop {
        let got = status(p, path).await;
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{path} still answers {got}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn listed(p: &Portico) -> Vec<String> {
    let (status, list) = p
        .send("GET", "/restapis/shop/deployments", &[], "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{list}");
    list["item"]
        .as_array()
        .expect("item")
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deploys_and_rollbacks_through_one_replica_reach_the_other() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-deploy");
    // A's file has `/new`; B's does not. Each stage serves its file until deployed.
    let a = Portico::start(&dir.write("a.toml", &shop(&server.url(), true)));
    let b = Portico::start(&dir.write("b.toml", &shop(&server.url(), false)));
    assert_eq!(status(&a, "/prod/new").await, 200);
    assert_eq!(status(&b, "/prod/new").await, 403);

    // Deployed through B (a snapshot without `/new`): A serves it after its refresh.
    let old = deploy(&b, json!({ "stageName": "prod", "description": "old" })).await;
    until_status(&a, "/prod/new", 403).await;
    assert_eq!(status(&a, "/prod/old").await, 200);

    // Deployed through A (with `/new`): B serves a route its own file does not have.
    let new = deploy(&a, json!({ "stageName": "prod", "description": "new" })).await;
    let took = until_status(&b, "/prod/new", 200).await;
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(listed(&b).await, [old.clone(), new.clone()]);

    // Rolled back through A: B goes back to the first deployment.
    let patch = json!({ "patchOperations": [
        { "op": "replace", "path": "/deploymentId", "value": old }
    ]});
    let (code, stage) = a
        .send(
            "PATCH",
            "/restapis/shop/stages/prod",
            &[],
            &patch.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(code, 200, "{stage}");
    until_status(&b, "/prod/new", 403).await;
    let (_, seen) = b
        .send("GET", "/restapis/shop/stages/prod", &[], "")
        .await
        .unwrap();
    assert_eq!(seen["deploymentId"], old.as_str());

    // A canary made through A (all traffic to a snapshot with `/new`): B follows it.
    let canary = json!({ "stageName": "prod", "canarySettings": { "percentTraffic": 100 } });
    deploy(&a, canary).await;
    until_status(&b, "/prod/new", 200).await;
    // Discarded through B: A goes back to the stage's own deployment.
    let discard = json!({ "patchOperations": [{ "op": "remove", "path": "/canarySettings" }] });
    let (code, stage) = b
        .send(
            "PATCH",
            "/restapis/shop/stages/prod",
            &[],
            &discard.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(code, 200, "{stage}");
    until_status(&a, "/prod/new", 403).await;
    assert_eq!(listed(&a).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deploys_through_two_replicas_all_land_with_distinct_ids() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("replicas-concurrent");
    let config = dir.write("gateway.toml", &shop(&server.url(), true));
    let replicas = [
        Arc::new(Portico::start(&config)),
        Arc::new(Portico::start(&config)),
    ];
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..16 {
        let p = replicas[n % 2].clone();
        calls.spawn(async move { deploy(&p, json!({ "description": format!("d{n}") })).await });
    }
    let made: Vec<String> = calls.join_all().await;
    let unique: BTreeSet<String> = made.iter().cloned().collect();
    assert_eq!(unique.len(), 16, "{made:?}");
    for p in &replicas {
        let ids: BTreeSet<String> = listed(p).await.into_iter().collect();
        assert_eq!(ids, unique);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_checks_the_version_once_a_second_of_clock_time() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let start = |toml: String| {
        let config = Config::from_toml(&toml, "replica.toml", &registry).unwrap();
        Stack::builder(config, &registry)
            .clock(clock.clone())
            .open()
    };
    let a = start(shop(&server.url(), true)).await.unwrap();
    let b = start(shop(&server.url(), false)).await.unwrap();
    let b = common::TestStack::serve(b).await;
    assert_eq!(b.get("/prod/new").await.status, 403);
    let request = portico_runtime::lifecycle::NewDeployment {
        stage: Some("prod".into()),
        ..Default::default()
    };
    a.deploy("shop", request).await.unwrap();
    clock.advance(Duration::from_millis(999));
    assert_eq!(b.get("/prod/new").await.status, 403, "checked too early");
    clock.advance(Duration::from_millis(1));
    // The first request after the second has passed checks, and is served by the new state.
    assert_eq!(b.get("/prod/new").await.status, 200);
    assert_eq!(
        b.stack.deployments("shop").await.unwrap().deployments.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_kept_waiting_by_another_replicas_lease_gets_409_and_changes_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    let config = Config::from_toml(&shop(&server.url(), true), "lease.toml", &registry).unwrap();
    let stack = Stack::builder(config, &registry).open().await.unwrap();
    // Another replica is in the middle of changing `shop`: it holds the API's lease.
    let lease = "deployments-lease/shop";
    let held = SystemTime::now() + Duration::from_secs(60);
    let store = stack.store().clone();
    store.incr_if_below(lease, 1, Some(held)).await.unwrap();
    let s = common::TestStack::serve(stack).await;
    let body = json!({ "stageName": "prod" }).to_string();
    let res = s
        .request("POST", "/restapis/shop/deployments", &[], body.clone())
        .await;
    assert_eq!(res.status, 409, "{}", res.text());
    assert_eq!(res.header("x-amzn-errortype"), Some("ConflictException"));
    assert!(
        res.text().contains("concurrent modification"),
        "{}",
        res.text()
    );
    let listed = s.get("/restapis/shop/deployments").await.json();
    assert_eq!(listed["item"], json!([]));
    assert_eq!(s.get("/prod/new").await.status, 200);
    // Released: the change goes through.
    assert!(store.delete(lease).await.unwrap());
    let res = s
        .request("POST", "/restapis/shop/deployments", &[], body)
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}
