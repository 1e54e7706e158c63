//! GetDeployment and DeleteDeployment over HTTP, in API Gateway's shapes: a deployment no
//! stage or canary serves is deleted (202) and gone from every read; one a stage or a canary
//! serves is refused with 400 and kept; unknown ids and APIs get 404; a refused or unknown
//! deletion changes nothing.

mod common;
mod lifecycle_support;

use lifecycle_support::{register_labelled, start, Running};
use portico_runtime::Registry;
use serde_json::{json, Value};

const SHOP: &str = r#"[apis.shop]
type = "rest"

[apis.shop.stages.prod]

[apis.shop.stages.dev]

[[apis.shop.routes]]
route = "GET /x"
function = "a"
"#;

fn registry() -> Registry {
    let mut r = Registry::new();
    register_labelled(&mut r, "a", "a");
    r
}

async fn deploy(s: &Running, body: Value) -> String {
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()["id"].as_str().expect("id").to_owned()
}

async fn ids(s: &Running) -> Vec<String> {
    let list = s
        .admin("GET", "/restapis/shop/deployments", json!(null))
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    list.json()["item"]
        .as_array()
        .expect("item")
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_deployment_nothing_serves_is_deleted_and_gone() {
    let s = start("delete-ok", SHOP, &registry()).await;
    let old = deploy(&s, json!({ "stageName": "prod", "description": "old" })).await;
    let new = deploy(&s, json!({ "stageName": "prod", "description": "new" })).await;

    let one = s
        .admin(
            "GET",
            &format!("/restapis/shop/deployments/{old}"),
            json!(null),
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["id"], old.as_str());
    assert_eq!(one.json()["description"], "old");

    let res = s
        .admin(
            "DELETE",
            &format!("/restapis/shop/deployments/{old}"),
            json!(null),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text());
    assert_eq!(res.text(), "");
    assert_eq!(ids(&s).await, [new]);
    let gone = s
        .admin(
            "GET",
            &format!("/restapis/shop/deployments/{old}"),
            json!(null),
        )
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text());
    assert_eq!(gone.header("x-amzn-errortype"), Some("NotFoundException"));
    // A deleted deployment cannot be rolled back to.
    let patch = json!({ "patchOperations": [
        { "op": "replace", "path": "/deploymentId", "value": old }
    ]});
    let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
    assert_eq!(res.status, 404, "{}", res.text());
    // The stage still serves its deployment.
    assert_eq!(s.side("/prod/x").await["side"], "a");
}

#[tokio::test]
async fn a_deployment_a_stage_or_a_canary_serves_is_refused_and_kept() {
    let s = start("delete-refused", SHOP, &registry()).await;
    let served = deploy(&s, json!({ "stageName": "prod" })).await;
    let canary = deploy(
        &s,
        json!({ "stageName": "prod", "canarySettings": { "percentTraffic": 10.0 } }),
    )
    .await;
    let cases = [
        (&served, "Active stages pointing to this deployment"),
        (&canary, "Active stages with canary settings pointing"),
    ];
    for (id, message) in cases {
        let res = s
            .admin(
                "DELETE",
                &format!("/restapis/shop/deployments/{id}"),
                json!(null),
            )
            .await;
        assert_eq!(res.status, 400, "{}", res.text());
        assert_eq!(res.header("x-amzn-errortype"), Some("BadRequestException"));
        let text = res.json()["message"].as_str().unwrap().to_owned();
        assert!(text.contains(message), "{text}");
    }
    assert_eq!(ids(&s).await, [served.clone(), canary.clone()]);

    // Once the canary is discarded, its deployment can go.
    let discard = json!({ "patchOperations": [{ "op": "remove", "path": "/canarySettings" }] });
    let res = s
        .admin("PATCH", "/restapis/shop/stages/prod", discard)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = s
        .admin(
            "DELETE",
            &format!("/restapis/shop/deployments/{canary}"),
            json!(null),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text());
    assert_eq!(ids(&s).await, [served]);
}

#[tokio::test]
async fn unknown_deployments_and_apis_get_404_and_change_nothing() {
    let s = start("delete-unknown", SHOP, &registry()).await;
    let kept = deploy(&s, json!({ "stageName": "prod" })).await;
    let cases = [
        (
            "DELETE",
            "/restapis/shop/deployments/zzzzzz",
            "Invalid deployment identifier",
        ),
        (
            "GET",
            "/restapis/shop/deployments/zzzzzz",
            "Invalid deployment identifier",
        ),
        (
            "DELETE",
            &*format!("/restapis/nope/deployments/{kept}"),
            "Invalid API identifier",
        ),
        (
            "GET",
            &*format!("/restapis/nope/deployments/{kept}"),
            "Invalid API identifier",
        ),
    ];
    for (method, path, message) in cases {
        let res = s.admin(method, path, json!(null)).await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text());
        assert_eq!(res.header("x-amzn-errortype"), Some("NotFoundException"));
        let text = res.json()["message"].as_str().unwrap().to_owned();
        assert!(text.contains(message), "{method} {path}: {text}");
    }
    assert_eq!(ids(&s).await, [kept]);
}
