//! The deployment history lives in the store: it survives a restart on the embedded store
//! with no file written; an old `deployments.json` is imported once; a corrupt record or
//! file stops start-up naming it; `Stack::builder(..).build()` reads no file.

mod common;
mod lifecycle_support;

use std::path::Path;

use lifecycle_support::{open_in, register_labelled, start_in, temp_dir, Running};
use portico_runtime::lifecycle::{History, NewDeployment};
use portico_runtime::store::{EmbeddedStore, Store};
use portico_runtime::{Clock, Config, Registry, Stack};
use serde_json::json;

/// The shop API with `GET /x` served by `function`, in stages prod and dev.
fn shop(function: &str) -> String {
    format!(
        r#"[apis.shop]
type = "rest"

[apis.shop.stages.prod]

[apis.shop.stages.dev]

[[apis.shop.routes]]
route = "GET /x"
function = "{function}"
"#
    )
}

fn registry() -> Registry {
    let mut r = Registry::new();
    register_labelled(&mut r, "a", "a");
    register_labelled(&mut r, "b", "b");
    r
}

async fn deploy(s: &Running, stage: &str, description: &str) -> String {
    let body = json!({ "stageName": stage, "description": description });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()["id"].as_str().expect("id").to_owned()
}

async fn side(s: &Running, path: &str) -> String {
    s.side(path).await["side"].as_str().unwrap_or("").to_owned()
}

async fn listed_ids(s: &Running) -> Vec<String> {
    let list = s
        .admin("GET", "/restapis/shop/deployments", json!(null))
        .await
        .json();
    list["item"]
        .as_array()
        .expect("item")
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A `deployments.json` as earlier versions wrote it: prod serving a snapshot of `shop("a")`.
async fn old_history_file(data: &Path) -> String {
    let r = registry();
    let config = Config::from_toml(&common::quiet(&shop("a")), "old.toml", &r).unwrap();
    let stack = Stack::builder(config, &r).build();
    let request = NewDeployment {
        stage: Some("prod".into()),
        description: "from the file".into(),
        ..NewDeployment::default()
    };
    let deployment = stack.deploy("shop", request).await.unwrap();
    let mut history = History::default();
    let record = stack
        .store()
        .get("deployments/shop")
        .await
        .unwrap()
        .unwrap();
    history
        .apis
        .insert("shop".into(), serde_json::from_slice(&record).unwrap());
    std::fs::create_dir_all(data).unwrap();
    let text = serde_json::to_string_pretty(&history).unwrap();
    std::fs::write(data.join("deployments.json"), text).unwrap();
    deployment.id
}

#[tokio::test]
async fn the_history_survives_a_restart_in_the_store_with_no_file_written() {
    let dir = temp_dir("restart");
    let data = dir.join("data");
    let first = {
        let s = start_in(&dir, &data, &shop("a"), &registry()).await;
        let id = deploy(&s, "prod", "kept").await;
        drop(s);
        id
    };
    assert!(!data.join("deployments.json").exists());
    assert!(dir.join(".portico/state.sqlite3").is_file());
    // Restarted on a file that changed meanwhile: prod still serves its deployment.
    let s = start_in(&dir, &data, &shop("b"), &registry()).await;
    assert_eq!(side(&s, "/prod/x").await, "a");
    assert_eq!(side(&s, "/dev/x").await, "b");
    assert_eq!(listed_ids(&s).await, std::slice::from_ref(&first));
    let rolled = s
        .admin("GET", "/restapis/shop/stages/prod", serde_json::Value::Null)
        .await;
    assert_eq!(rolled.json()["deploymentId"], first.as_str());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_old_deployments_json_is_imported_into_the_store_once() {
    let dir = temp_dir("import");
    let data = dir.join("data");
    let imported = old_history_file(&data).await;
    {
        // The live file says `b`; prod serves the imported snapshot of `a`.
        let s = start_in(&dir, &data, &shop("b"), &registry()).await;
        assert_eq!(side(&s, "/prod/x").await, "a");
        assert_eq!(side(&s, "/dev/x").await, "b");
        assert_eq!(listed_ids(&s).await, std::slice::from_ref(&imported));
        // Changes go to the store, not the file.
        let second = deploy(&s, "dev", "after import").await;
        assert_eq!(listed_ids(&s).await, [imported.clone(), second]);
    }
    // The file is not read again: even spoiled, it changes nothing at the next start.
    std::fs::write(data.join("deployments.json"), "{ spoiled").unwrap();
    let s = start_in(&dir, &data, &shop("b"), &registry()).await;
    assert_eq!(side(&s, "/prod/x").await, "a");
    assert_eq!(listed_ids(&s).await.len(), 2);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_deployments_json_stops_start_up_naming_it() {
    let dir = temp_dir("corrupt-file");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("deployments.json"), "{ not json").unwrap();
    let err = open_in(&dir, &data, &shop("a"), &registry())
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    let file = data.join("deployments.json").display().to_string();
    assert!(text.contains(&file), "{text}");
    assert!(text.contains("not a deployment history"), "{text}");
    // Left as it was, for the user to repair; nothing was imported.
    assert_eq!(
        std::fs::read_to_string(data.join("deployments.json")).unwrap(),
        "{ not json"
    );
    let store = EmbeddedStore::open(&dir.join(".portico"), Clock::system()).unwrap();
    assert!(store.list("deployments/").await.unwrap().is_empty());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_record_stops_start_up_naming_it_and_its_file() {
    let dir = temp_dir("corrupt-record");
    let data = dir.join("data");
    {
        let store = EmbeddedStore::open(&dir.join(".portico"), Clock::system()).unwrap();
        let bad = bytes::Bytes::from_static(b"{\"deployments\": 7}");
        store.put("deployments/shop", bad, None).await.unwrap();
    }
    let err = open_in(&dir, &data, &shop("a"), &registry())
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(text.contains("deployments/shop"), "{text}");
    assert!(text.contains("not a deployment history"), "{text}");
    assert!(text.contains("state.sqlite3"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_stack_on_a_memory_store_starts_empty_and_reads_no_file() {
    let dir = temp_dir("memory");
    let data = dir.join("data");
    old_history_file(&data).await;
    let r = registry();
    let toml = format!(
        "[server]\ndata_dir = {:?}\n\n{}",
        data.display().to_string(),
        common::quiet(&shop("b"))
    );
    for built in [true, false] {
        let config = Config::from_toml(&toml, "memory.toml", &r).unwrap();
        let stack = if built {
            Stack::builder(config, &r).build()
        } else {
            Stack::builder(config, &r).open().await.unwrap()
        };
        assert!(stack
            .deployments("shop")
            .await
            .unwrap()
            .deployments
            .is_empty());
        let served = common::TestStack::serve(stack).await;
        let res = served.get("/prod/x").await;
        assert_eq!(res.json()["side"], "b", "{}", res.text());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
