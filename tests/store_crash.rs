//! The embedded store under `kill -9`: the real binary serves keyed requests, creates API keys
//! and starts Standard executions concurrently, is killed mid-load, and is restarted on the
//! same data directory. Every request answered 2xx is counted in usage, every key whose
//! creation was answered works, every execution whose start was answered is there, and every
//! deployment whose creation was answered is listed, with prod pointing at the newest.

mod store;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;
use store::{Portico, TempDir};

const CONFIG: &str = r#"
[logs]
stdout = false
access_log = false

[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[store]
kind = "embedded"
path = "data"

[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /pets/{proxy+}"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{ api = "shop", stage = "prod" }]
quota = { limit = 100000000, period = "DAY" }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]

[[api_keys]]
name = "bob"
value = "bob-key-0123456789abcdefgh"
usage_plans = ["basic"]

[workflows.quick]
definition = "quick.json"

[workflows.slow]
definition = "slow.json"
"#;

const QUICK: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#;
const SLOW: &str =
    r#"{"StartAt":"Nap","States":{"Nap":{"Type":"Wait","Seconds":86400,"End":true}}}"#;

const KEYS: [&str; 2] = ["alice-key-0123456789abcdef", "bob-key-0123456789abcdefgh"];
/// Concurrent request loops per configured key.
const WORKERS_PER_KEY: usize = 8;
/// Answered requests after which the process is killed.
const KILL_AFTER: u64 = 600;

/// What one key's request loops saw.
#[derive(Default)]
struct KeyTally {
    answered_2xx: AtomicU64,
    /// Answered with another status after admission could have metered them.
    answered_other: AtomicU64,
    /// Sent but never answered: the kill cut them off.
    cut_off: AtomicU64,
}

fn key_id(stack_keys: &serde_json::Value, value: &str) -> String {
    stack_keys["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["value"] == value)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_state_survives_sigkill() {
    let dir = TempDir::new("store-crash");
    dir.write("quick.json", QUICK);
    dir.write("slow.json", SLOW);
    let config = dir.write("gateway.toml", CONFIG);
    let portico = Arc::new(Portico::start(&config));

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let reached = Arc::new(tokio::sync::Notify::new());
    let tallies: Arc<Vec<KeyTally>> = Arc::new(KEYS.iter().map(|_| KeyTally::default()).collect());

    let mut loops = Vec::new();
    for (k, key) in KEYS.iter().enumerate() {
        for w in 0..WORKERS_PER_KEY {
            let (p, stop, answered, reached, tallies) = (
                portico.clone(),
                stop.clone(),
                answered.clone(),
                reached.clone(),
                tallies.clone(),
            );
            loops.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let path = format!("/prod/pets/{w}-{n}");
                    match p.send("GET", &path, &[("x-api-key", key)], "").await {
                        Ok((status, _)) if (200..300).contains(&status) => {
                            tallies[k].answered_2xx.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {
                            tallies[k].answered_other.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            tallies[k].cut_off.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    }
                    if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        reached.notify_one();
                    }
                }
            }));
        }
    }

    // Keys created (and joined to the plan) while requests flow: (id, value, joined).
    let created = Arc::new(std::sync::Mutex::new(Vec::<(String, String, bool)>::new()));
    let mut creators = Vec::new();
    for c in 0..2 {
        let (p, stop, created) = (portico.clone(), stop.clone(), created.clone());
        creators.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let value = format!("runtime-key-{c}-{n}-0123456789abcdef");
                let body = json!({"name": format!("k{c}-{n}"), "value": value, "enabled": true});
                let Ok((201, key)) = p.send("POST", "/apikeys", &[], &body.to_string()).await
                else {
                    return;
                };
                let id = key["id"].as_str().unwrap().to_owned();
                created
                    .lock()
                    .unwrap()
                    .push((id.clone(), value.clone(), false));
                let join = json!({"keyId": id, "keyType": "API_KEY"});
                let joined = p
                    .send("POST", "/usageplans/basic/keys", &[], &join.to_string())
                    .await;
                let Ok((201, _)) = joined else { return };
                if let Some(entry) = created.lock().unwrap().iter_mut().find(|e| e.0 == id) {
                    entry.2 = true;
                }
            }
        }));
    }

    // Standard executions started while requests flow.
    let started = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut starters = Vec::new();
    for machine in ["quick", "slow"] {
        let (p, stop, started) = (portico.clone(), stop.clone(), started.clone());
        starters.push(tokio::spawn(async move {
            let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}");
            while !stop.load(Ordering::Relaxed) {
                let input = json!({"stateMachineArn": arn, "input": "{\"n\": 1}"});
                match p.sfn("StartExecution", input).await {
                    Ok((200, body)) => started
                        .lock()
                        .unwrap()
                        .push(body["executionArn"].as_str().unwrap().to_owned()),
                    _ => return,
                }
            }
        }));
    }

    // Deployments of the API to prod while requests flow, one at a time: (id acknowledged).
    let deployed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let deployer = {
        let (p, stop, deployed) = (portico.clone(), stop.clone(), deployed.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"stageName": "prod", "description": format!("d{n}")});
                let sent = p
                    .send("POST", "/restapis/shop/deployments", &[], &body.to_string())
                    .await;
                let Ok((201, made)) = sent else { return };
                deployed
                    .lock()
                    .unwrap()
                    .push(made["id"].as_str().unwrap().to_owned());
            }
        })
    };

    reached.notified().await;
    // SIGKILL while every loop still has requests in flight.
    let pid = portico.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    stop.store(true, Ordering::Relaxed);
    for task in loops
        .into_iter()
        .chain(creators)
        .chain(starters)
        .chain([deployer])
    {
        task.await.unwrap();
    }
    drop(portico);

    let portico = Portico::start(&config);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (status, all_keys) = portico
        .send("GET", "/apikeys?includeValues=true&limit=500", &[], "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{all_keys}");

    let mut total = 0;
    for (k, key) in KEYS.iter().enumerate() {
        let id = key_id(&all_keys, key);
        let path = format!("/usageplans/basic/usage?keyId={id}&startDate={today}&endDate={today}");
        let (status, usage) = portico.send("GET", &path, &[], "").await.unwrap();
        assert_eq!(status, 200, "{usage}");
        let used = usage["values"][&id][0][0].as_u64().unwrap();
        let tally = &tallies[k];
        let ok = tally.answered_2xx.load(Ordering::SeqCst);
        let other = tally.answered_other.load(Ordering::SeqCst);
        let cut = tally.cut_off.load(Ordering::SeqCst);
        assert!(
            used >= ok && used <= ok + other + cut,
            "key {key}: usage {used}, answered 2xx {ok}, other {other}, cut off {cut}"
        );
        eprintln!("key {k}: used {used}, 2xx {ok}, other {other}, cut {cut}");
        total += ok;
    }
    assert!(
        total >= KILL_AFTER / 2,
        "too little load before the kill: {total}"
    );

    let created = created.lock().unwrap().clone();
    assert!(!created.is_empty(), "no key was created before the kill");
    for (id, value, joined) in &created {
        let (status, key) = portico
            .send("GET", &format!("/apikeys/{id}?includeValue=true"), &[], "")
            .await
            .unwrap();
        assert_eq!(status, 200, "key {id} lost: {key}");
        assert_eq!(key["value"], value.as_str());
        if *joined {
            let (status, body) = portico
                .send("GET", "/prod/pets/after", &[("x-api-key", value)], "")
                .await
                .unwrap();
            assert_eq!(status, 200, "key {id} no longer admitted: {body}");
        }
    }

    // Every acknowledged deployment is listed, in order; at most the one in flight at the
    // kill was also kept, and prod serves the newest kept.
    let deployed = deployed.lock().unwrap().clone();
    assert!(
        !deployed.is_empty(),
        "no deployment was made before the kill"
    );
    let (status, list) = portico
        .send("GET", "/restapis/shop/deployments", &[], "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{list}");
    let listed: Vec<String> = list["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed[..deployed.len()], deployed[..], "deployments lost");
    assert!(listed.len() <= deployed.len() + 1, "{listed:?}");
    let (_, stage) = portico
        .send("GET", "/restapis/shop/stages/prod", &[], "")
        .await
        .unwrap();
    assert_eq!(stage["deploymentId"], listed.last().unwrap().as_str());

    let started = started.lock().unwrap().clone();
    eprintln!(
        "keys created {}, executions started {}, deployments made {}",
        created.len(),
        started.len(),
        deployed.len()
    );
    assert!(
        !started.is_empty(),
        "no execution was started before the kill"
    );
    for arn in &started {
        let (status, execution) = portico
            .sfn("DescribeExecution", json!({"executionArn": arn}))
            .await
            .unwrap();
        assert_eq!(status, 200, "execution {arn} lost: {execution}");
        let state = execution["status"].as_str().unwrap();
        if arn.contains(":slow:") {
            assert_eq!(state, "FAILED", "{execution}");
            assert_eq!(execution["error"], "States.Runtime");
            assert!(execution["cause"]
                .as_str()
                .unwrap()
                .contains("stopped while this execution was running"));
        } else {
            assert!(state == "SUCCEEDED" || state == "FAILED", "{execution}");
        }
        let (status, history) = portico
            .sfn("GetExecutionHistory", json!({"executionArn": arn}))
            .await
            .unwrap();
        assert_eq!(status, 200);
        let events = history["events"].as_array().unwrap();
        assert_eq!(events[0]["type"], "ExecutionStarted");
        let last = events.last().unwrap()["type"].as_str().unwrap();
        assert!(
            last == "ExecutionSucceeded" || last == "ExecutionFailed",
            "{history}"
        );
    }
}
