//! Canary releases over HTTP: a stage's canary serves its share of 1,000 requests (a
//! counter-based split, so the share is exact), each request sees its side's stage
//! variables; promote and discard; a percentage outside 0..=100 is refused at load and by
//! the API.

mod common;
mod lifecycle_support;

use lifecycle_support::{register_labelled, start, Running};
use portico_runtime::{Config, Registry};
use serde_json::json;

fn shop(function: &str, canary: &str) -> String {
    format!(
        r#"[apis.shop]
type = "rest"

[apis.shop.stages.prod]
variables = {{ color = "blue", size = "m" }}
{canary}

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

/// Serves `a` on prod, then deploys `b` as prod's canary at `percent` with color=green.
async fn with_canary(name: &str, percent: f64) -> (Running, String, String) {
    let s = start(name, &shop("a", ""), &registry()).await;
    let body = json!({ "stageName": "prod", "description": "stable" });
    let stable = s
        .admin("POST", "/restapis/shop/deployments", body)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.rewrite(&shop("b", ""));
    assert_eq!(s.reload().await.status, 200);
    let body = json!({
        "stageName": "prod",
        "description": "candidate",
        "canarySettings": { "percentTraffic": percent, "stageVariableOverrides": { "color": "green" } }
    });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let canary = res.json()["id"].as_str().unwrap().to_owned();
    (s, stable, canary)
}

/// Sends `n` requests and counts the canary's answers, checking each side's variables.
async fn count_canary(s: &Running, n: usize) -> usize {
    let mut canary = 0;
    for _ in 0..n {
        let answer = s.side("/prod/x").await;
        let vars = &answer["stageVariables"];
        assert_eq!(
            vars["size"], "m",
            "both sides keep the stage's other variables"
        );
        match answer["side"].as_str() {
            Some("b") => {
                assert_eq!(vars["color"], "green", "a canary request saw {answer}");
                canary += 1;
            }
            Some("a") => assert_eq!(vars["color"], "blue", "a stable request saw {answer}"),
            other => panic!("unexpected side {other:?}"),
        }
    }
    canary
}

#[tokio::test]
async fn a_canary_serves_its_share_with_its_own_stage_variables() {
    let (s, _, canary) = with_canary("share", 10.0).await;
    let served = count_canary(&s, 1000).await;
    assert!(
        (95..=105).contains(&served),
        "canary served {served} of 1000 at 10%"
    );
    let stage = s
        .admin("GET", "/restapis/shop/stages/prod", json!(null))
        .await
        .json();
    assert_eq!(stage["canarySettings"]["deploymentId"], canary.as_str());
    assert_eq!(stage["canarySettings"]["percentTraffic"], 10.0);
    // A new percentage applies at once.
    let patch = json!({ "patchOperations": [
        { "op": "replace", "path": "/canarySettings/percentTraffic", "value": "50" }
    ]});
    assert_eq!(
        s.admin("PATCH", "/restapis/shop/stages/prod", patch)
            .await
            .status,
        200
    );
    let served = count_canary(&s, 200).await;
    assert!(
        (95..=105).contains(&served),
        "canary served {served} of 200 at 50%"
    );
}

#[tokio::test]
async fn promote_makes_the_canary_the_stage_deployment() {
    let (s, _, canary) = with_canary("promote", 25.0).await;
    let patch = json!({ "patchOperations": [
        { "op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId" },
        { "op": "remove", "path": "/canarySettings" }
    ]});
    let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["deploymentId"], canary.as_str());
    assert!(res.json().get("canarySettings").is_none());
    for _ in 0..20 {
        let answer = s.side("/prod/x").await;
        assert_eq!(answer["side"], "b");
        assert_eq!(
            answer["stageVariables"]["color"], "blue",
            "overrides end with the canary"
        );
    }
}

#[tokio::test]
async fn discard_sends_everything_back_to_the_stable_deployment() {
    let (s, stable, _) = with_canary("discard", 50.0).await;
    let patch = json!({ "patchOperations": [{ "op": "remove", "path": "/canarySettings" }] });
    let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["deploymentId"], stable.as_str());
    assert_eq!(count_canary(&s, 20).await, 0);
    // Nothing left to change: a new percentage is refused.
    let patch = json!({ "patchOperations": [
        { "op": "replace", "path": "/canarySettings/percentTraffic", "value": "5" }
    ]});
    let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("has no canary"));
}

#[tokio::test]
async fn a_canary_in_the_file_is_served_and_its_percentage_checked() {
    let s = start("file", &shop("a", ""), &registry()).await;
    let body = json!({ "description": "candidate" });
    let id = s
        .admin("POST", "/restapis/shop/deployments", body)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The deployment snapshots `a`; make the canary serve it at 20% over a live `b`.
    s.rewrite(&shop(
        "b",
        &format!("canary = {{ deployment = \"{id}\", percent = 20.0, stage_variables = {{ color = \"green\" }} }}"),
    ));
    assert_eq!(s.reload().await.status, 200);
    let mut served = 0;
    for _ in 0..100 {
        let answer = s.side("/prod/x").await;
        if answer["side"] == "a" {
            assert_eq!(answer["stageVariables"]["color"], "green");
            served += 1;
        }
    }
    assert_eq!(served, 20);
    // Over 100: refused at load with its place in the file; the old config keeps serving.
    s.rewrite(&shop(
        "b",
        &format!("canary = {{ deployment = \"{id}\", percent = 150.0 }}"),
    ));
    let res = s.reload().await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("gateway.toml:12:"), "{}", res.text());
    assert!(
        res.text().contains("between 0.0 and 100.0"),
        "{}",
        res.text()
    );
    // A deployment the history does not have: refused at load, pointing at the line.
    s.rewrite(&shop(
        "b",
        "canary = { deployment = \"abc123\", percent = 5.0 }",
    ));
    let res = s.reload().await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("gateway.toml:12:"), "{}", res.text());
    assert!(
        res.text().contains("not in the deployment history"),
        "{}",
        res.text()
    );
}

#[test]
fn a_negative_percentage_is_a_config_error_with_its_place() {
    let toml = shop("a", "canary = { deployment = \"abc123\", percent = -1.0 }");
    let err = Config::from_toml(&toml, "gateway.toml", &registry()).unwrap_err();
    assert!(err.to_string().contains("gateway.toml:6:"), "{err}");
    assert!(err.to_string().contains("between 0.0 and 100.0"), "{err}");
}

#[tokio::test]
async fn the_api_refuses_percentages_outside_0_to_100_and_changes_nothing() {
    let (s, _, canary) = with_canary("range", 10.0).await;
    for bad in ["100.5", "-3", "NaN", "ten"] {
        let patch = json!({ "patchOperations": [
            { "op": "replace", "path": "/canarySettings/percentTraffic", "value": bad }
        ]});
        let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }
    let body = json!({ "stageName": "prod", "canarySettings": { "percentTraffic": 101.0 } });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("between 0.0 and 100.0"));
    let stage = s
        .admin("GET", "/restapis/shop/stages/prod", json!(null))
        .await
        .json();
    assert_eq!(stage["canarySettings"]["deploymentId"], canary.as_str());
    assert_eq!(stage["canarySettings"]["percentTraffic"], 10.0);
    let list = s
        .admin("GET", "/restapis/shop/deployments", json!(null))
        .await
        .json();
    assert_eq!(
        list["item"].as_array().unwrap().len(),
        2,
        "the refused deployment was not kept"
    );
}

#[tokio::test]
async fn a_canary_keeps_its_shared_cache_entries_apart_from_the_main_side() {
    let cached = r#"cache = { ttl = "60s", shared = true }"#;
    let s = start("cache", &shop("a", cached), &registry()).await;
    let body = json!({ "stageName": "prod", "description": "stable" });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    s.rewrite(&shop("b", cached));
    assert_eq!(s.reload().await.status, 200);
    let body = json!({
        "stageName": "prod",
        "canarySettings": { "percentTraffic": 50.0 }
    });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    // At 50 % the split alternates stable, canary: the canary's first request must run its
    // own deployment, not find the stable side's entry in the shared level.
    let mut sides = Vec::new();
    for _ in 0..4 {
        sides.push(s.side("/prod/x").await["side"].as_str().unwrap().to_owned());
    }
    assert_eq!(sides, ["a", "b", "a", "b"]);
}
