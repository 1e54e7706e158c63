//! API keys over real HTTP: routes that require one answer 403 `{"message":"Forbidden"}` to a
//! missing, unknown or disabled key, keys created and disabled at runtime take effect at once,
//! and every outcome is counted overall and per key.

mod common;

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::traffic::TrafficSnapshot;

pub const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.prod]
[apis.shop.stages.beta]

[[apis.shop.routes]]
route = "GET /open/{proxy+}"
function = "echo"

[[apis.shop.routes]]
route = "ANY /pets/{proxy+}"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{ api = "shop", stage = "prod" }]

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]

[[api_keys]]
name = "carol"
value = "carol-key-0123456789abcdef"
enabled = false
usage_plans = ["basic"]
"#;

const ALICE: &str = "alice-key-0123456789abcdef";

async fn get(stack: &TestStack, path: &str, key: Option<&str>) -> common::TestResponse {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    stack.request("GET", path, &headers, "").await
}

fn assert_forbidden(res: &common::TestResponse) {
    assert_eq!(res.status, 403, "{}", res.text());
    assert_eq!(res.text(), r#"{"message":"Forbidden"}"#);
    assert_eq!(res.header("x-amzn-errortype"), Some("ForbiddenException"));
    assert_eq!(res.header("retry-after"), None);
}

#[tokio::test]
async fn a_key_required_route_refuses_missing_unknown_and_disabled_keys() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    assert_forbidden(&get(&stack, "/prod/pets/1", None).await);
    assert_forbidden(&get(&stack, "/prod/pets/1", Some("unknown-key-0123456789abc")).await);
    assert_forbidden(&get(&stack, "/prod/pets/1", Some("carol-key-0123456789abcdef")).await);
    // A valid key, but its plan does not cover the beta stage.
    assert_forbidden(&get(&stack, "/beta/pets/1", Some(ALICE)).await);
    let ok = get(&stack, "/prod/pets/1", Some(ALICE)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    // The function sees the request as usual.
    assert_eq!(ok.json()["path"], "/pets/1");
    // Routes without api_key_required ignore keys, good or bad.
    assert_eq!(get(&stack, "/prod/open/x", None).await.status, 200);
    assert_eq!(
        get(&stack, "/prod/open/x", Some("nonsense")).await.status,
        200
    );

    let counters = stack.stack.traffic().control().counters().snapshot();
    assert_eq!(
        counters,
        TrafficSnapshot {
            admitted: 3,
            forbidden: 4,
            ..Default::default()
        }
    );
    assert_eq!(counters.count(), 7);
    assert_eq!(counters.client_errors(), 4);
    let keys = stack.stack.traffic().control().keys();
    let alice = keys.find_by_value(ALICE).unwrap().counters.snapshot();
    assert_eq!((alice.admitted, alice.forbidden), (1, 1));
    let carol = keys
        .find_by_value("carol-key-0123456789abcdef")
        .unwrap()
        .counters
        .snapshot();
    assert_eq!((carol.admitted, carol.forbidden), (0, 1));
}

#[tokio::test]
async fn key_values_never_reach_the_logs() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    get(&stack, "/prod/pets/1", Some("unknown-key-0123456789abc")).await;
    get(&stack, "/prod/pets/1", Some("carol-key-0123456789abcdef")).await;
    let logs = stack.stack.logs();
    for group in logs.group_names() {
        for event in logs.events(&group) {
            assert!(!event.message.contains("unknown-key-0123456789abc"));
            assert!(!event.message.contains("carol-key-0123456789abcdef"));
        }
    }
}

#[tokio::test]
async fn keys_created_joined_and_disabled_at_runtime_take_effect() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    let json = [("content-type", "application/json")];
    let created = stack
        .request(
            "POST",
            "/apikeys",
            &json,
            r#"{"name":"dave","enabled":true,"value":"dave-key-0123456789abcdefg"}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let dave = Some("dave-key-0123456789abcdefg");
    // Not in any plan yet.
    assert_forbidden(&get(&stack, "/prod/pets/1", dave).await);
    let joined = stack
        .request(
            "POST",
            "/usageplans/basic/keys",
            &json,
            format!(r#"{{"keyId":"{id}","keyType":"API_KEY"}}"#),
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.text());
    assert_eq!(get(&stack, "/prod/pets/1", dave).await.status, 200);

    let patch = |enabled: &str| {
        format!(
            r#"{{"patchOperations":[{{"op":"replace","path":"/enabled","value":"{enabled}"}}]}}"#
        )
    };
    let path = format!("/apikeys/{id}");
    let off = stack.request("PATCH", &path, &json, patch("false")).await;
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(off.json()["enabled"], false);
    assert_forbidden(&get(&stack, "/prod/pets/1", dave).await);
    let on = stack.request("PATCH", &path, &json, patch("true")).await;
    assert_eq!(on.json()["enabled"], true);
    assert_eq!(get(&stack, "/prod/pets/1", dave).await.status, 200);

    // A key created disabled (AWS's default) is refused.
    let created = stack
        .request(
            "POST",
            "/apikeys",
            &json,
            r#"{"name":"erin","value":"erin-key-0123456789abcdefg"}"#,
        )
        .await;
    assert_eq!(created.json()["enabled"], false);

    // Deleted keys stop working.
    assert_eq!(stack.request("DELETE", &path, &[], "").await.status, 202);
    assert_forbidden(&get(&stack, "/prod/pets/1", dave).await);
    assert_eq!(stack.get(&path).await.status, 404);
}

#[tokio::test]
async fn the_default_config_serves_its_keyed_route_and_leaves_the_others_open() {
    let toml = quiet(&common::default_gateway_toml());
    let stack = TestStack::start(&toml, &shipped_registry()).await;
    assert_forbidden(&get(&stack, "/premium/hello/ada", None).await);
    let ok = get(
        &stack,
        "/premium/hello/ada",
        Some("demo-key-0123456789abcdef"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), r#"{"message":"Hello, ada!"}"#);
    assert_eq!(get(&stack, "/hello/ada", None).await.status, 200);
    assert_eq!(get(&stack, "/echo/x", None).await.status, 200);
    assert_eq!(get(&stack, "/dev/echo/x", None).await.status, 200);
}
