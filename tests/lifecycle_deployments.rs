//! Deployments over HTTP: a deployment snapshots an API's definition; a stage pointing at it
//! serves the snapshot, not the live file; rollback moves the pointer; the history survives
//! a restart (see lifecycle_history.rs); bad requests change nothing. Also through the
//! `portico` commands.

mod common;
mod lifecycle_support;

use lifecycle_support::{register_labelled, start};
use portico_runtime::Registry;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_portico");

/// The shop API with `GET /x` served by `function`, in stages prod and dev.
fn shop(function: &str) -> String {
    format!(
        r#"[functions.aliased]
handler = "a"

[apis.shop]
type = "rest"

[apis.shop.stages.prod]
variables = {{ color = "blue" }}

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

async fn deploy(s: &lifecycle_support::Running, stage: &str, description: &str) -> String {
    let body = json!({ "stageName": stage, "description": description });
    let res = s.admin("POST", "/restapis/shop/deployments", body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 6);
    id
}

async fn side(s: &lifecycle_support::Running, path: &str) -> String {
    s.side(path).await["side"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn a_stage_serves_its_deployment_and_rollback_moves_it_back() {
    let s = start("deploy", &shop("a"), &registry()).await;
    let first = deploy(&s, "prod", "first").await;
    // The live file changes: dev follows it, prod keeps serving its deployment.
    s.rewrite(&shop("b"));
    assert_eq!(s.reload().await.status, 200);
    assert_eq!(side(&s, "/prod/x").await, "a");
    assert_eq!(side(&s, "/dev/x").await, "b");
    // The stage's own settings stay live: its variables are the file's.
    assert_eq!(s.side("/prod/x").await["stageVariables"]["color"], "blue");
    let second = deploy(&s, "prod", "second").await;
    assert_eq!(side(&s, "/prod/x").await, "b");
    let patch = json!({ "patchOperations": [
        { "op": "replace", "path": "/deploymentId", "value": first }
    ]});
    let res = s.admin("PATCH", "/restapis/shop/stages/prod", patch).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["deploymentId"], first.as_str());
    assert_eq!(side(&s, "/prod/x").await, "a");
    let list = s
        .admin("GET", "/restapis/shop/deployments", json!(null))
        .await
        .json();
    let items = list["item"].as_array().expect("item");
    let ids: Vec<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(items[0]["description"], "first");
    assert!(items[0]["createdDate"].as_i64().unwrap() > 1_600_000_000);
    let stages = s
        .admin("GET", "/restapis/shop/stages", json!(null))
        .await
        .json();
    assert_eq!(stages["item"][0]["stageName"], "dev");
    assert!(stages["item"][0].get("deploymentId").is_none());
    assert_eq!(stages["item"][1]["deploymentId"], first.as_str());
}

#[tokio::test]
async fn the_aws_shapes_answer_on_the_gateway_listener_by_api_id() {
    let s = start("aws", &shop("a"), &registry()).await;
    let api_id = s.gateway.stack.config().apis[0].id.clone();
    let res = s
        .gateway
        .request(
            "POST",
            &format!("/restapis/{api_id}/deployments"),
            &[],
            json!({ "stageName": "prod" }).to_string(),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let stage = s
        .gateway
        .get(&format!("/restapis/{api_id}/stages/prod"))
        .await;
    assert_eq!(stage.json()["deploymentId"], id.as_str());
}

#[tokio::test]
async fn bad_requests_get_aws_errors_and_change_nothing() {
    let s = start("bad", &shop("a"), &registry()).await;
    let first = deploy(&s, "prod", "first").await;
    let cases = [
        (
            "POST",
            "/restapis/nope/deployments",
            json!({}),
            404,
            "Invalid API identifier",
        ),
        (
            "POST",
            "/restapis/shop/deployments",
            json!({ "stageName": "qa" }),
            404,
            "Invalid stage identifier",
        ),
        (
            "PATCH",
            "/restapis/shop/stages/prod",
            json!({ "patchOperations": [{ "op": "replace", "path": "/deploymentId", "value": "zzzzzz" }] }),
            404,
            "Invalid deployment identifier",
        ),
        (
            "PATCH",
            "/restapis/shop/stages/prod",
            json!({ "patchOperations": [{ "op": "replace", "path": "/deploymentId" }] }),
            400,
            "needs a value",
        ),
        (
            "PATCH",
            "/restapis/shop/stages/prod",
            json!({ "patchOperations": [{ "op": "add", "path": "/variables/x", "value": "1" }] }),
            400,
            "not supported",
        ),
        (
            "PATCH",
            "/restapis/shop/stages/qa",
            json!({ "patchOperations": [] }),
            404,
            "Invalid stage identifier",
        ),
        (
            "POST",
            "/restapis/shop/deployments",
            json!({ "canarySettings": { "percentTraffic": 5.0 } }),
            400,
            "needs a stage",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let res = s.admin(method, path, body.clone()).await;
        assert_eq!(res.status, status, "{method} {path} {body}: {}", res.text());
        assert!(
            res.json()["message"].as_str().unwrap().contains(message),
            "{}",
            res.text()
        );
        assert!(res.header("x-amzn-errortype").is_some());
    }
    let res = s
        .admin("POST", "/restapis/shop/deployments", json!(null))
        .await;
    assert_eq!(res.status, 201, "an empty body deploys without a stage");
    let garbage = s
        .admin_raw("POST", "/restapis/shop/deployments", "{nope")
        .await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.text().contains("Invalid request body"));
    let list = s
        .admin("GET", "/restapis/shop/deployments", json!(null))
        .await
        .json();
    assert_eq!(list["item"].as_array().unwrap().len(), 2);
    let stage = s
        .admin("GET", "/restapis/shop/stages/prod", json!(null))
        .await
        .json();
    assert_eq!(stage["deploymentId"], first.as_str());
}

#[tokio::test]
async fn a_reload_that_breaks_a_deployed_snapshot_is_rejected() {
    // prod's deployment routes to `aliased`, a [functions] table of the file.
    let s = start("broken", &shop("aliased"), &registry()).await;
    let id = deploy(&s, "prod", "uses aliased").await;
    s.rewrite(&shop("b").replace("[functions.aliased]\nhandler = \"a\"\n", ""));
    let res = s.reload().await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(
        res.text()
            .contains(&format!("deployment {id} of api `shop` no longer applies")),
        "{}",
        res.text()
    );
    assert_eq!(side(&s, "/prod/x").await, "a");
    assert_eq!(
        side(&s, "/dev/x").await,
        "a",
        "the old file is still the live one"
    );
}

#[tokio::test]
async fn the_portico_commands_deploy_list_and_roll_back() {
    let s = start("cli", &shop("a"), &registry()).await;
    let endpoint = format!("http://{}", s.admin);
    // Asynchronously: the admin listener answering the command runs on this test's runtime.
    let run = |args: &[&str]| {
        let mut command = tokio::process::Command::new(BIN);
        command.args(args).args(["--endpoint", &endpoint]);
        async move {
            let out = command.output().await.expect("run portico");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let (code, out, err) = run(&[
        "deploy",
        "shop",
        "--stage",
        "prod",
        "--description",
        "v1 release",
    ])
    .await;
    assert_eq!(code, Some(0), "{err}");
    let first = out
        .trim()
        .strip_prefix("deployment ")
        .expect("id")
        .to_owned();
    s.rewrite(&shop("b"));
    assert_eq!(s.reload().await.status, 200);
    let (code, _, err) = run(&["deploy", "shop", "--stage", "prod", "--description", "v2"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(side(&s, "/prod/x").await, "b");
    let (code, out, _) = run(&["rollback", "shop", "--stage", "prod", "--to", &first]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains(&first));
    assert_eq!(side(&s, "/prod/x").await, "a");
    let (code, out, _) = run(&["deployments", "shop"]).await;
    assert_eq!(code, Some(0));
    let line = out.lines().find(|l| l.starts_with(&first)).expect("listed");
    assert!(
        line.contains("prod") && line.contains("v1 release"),
        "{out}"
    );
    let (code, _, err) = run(&["rollback", "shop", "--stage", "prod", "--to", "ffffff"]).await;
    assert_eq!(code, Some(1));
    assert!(
        err.contains("404") && err.contains("Invalid deployment identifier"),
        "{err}"
    );
    let (code, _, err) = run(&["deploy", "shop", "--stage", "prod", "--canary", "150"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("between 0.0 and 100.0"), "{err}");
}
