//! API Gateway's management API over real HTTP: `/apikeys` and `/usageplans` with AWS's JSON
//! shapes, and bad input answered with AWS's error shapes while nothing changes.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestResponse, TestStack};
use portico_runtime::Clock;
use serde_json::json;

const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /pets"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
name = "Basic"
description = "for tests"
stages = [{ api = "shop", stage = "prod", throttle = { "GET /pets" = { rate_limit = 50, burst_limit = 100 } } }]
throttle = { rate_limit = 10, burst_limit = 20 }
quota = { limit = 10, period = "WEEK", offset = 1 }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
description = "Alice's key"
usage_plans = ["basic"]
"#;

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

async fn start() -> (TestStack, Clock) {
    // 2024-05-15T12:00:00Z
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400));
    let stack = TestStack::start_with_clock(&quiet(TOML), &shipped_registry(), clock.clone()).await;
    (stack, clock)
}

fn assert_error(res: &TestResponse, status: u16, error_type: &str, message: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.header("x-amzn-errortype"), Some(error_type));
    assert_eq!(res.json(), json!({ "message": message }));
}

async fn key_count(stack: &TestStack) -> usize {
    let list = stack.get("/apikeys").await.json();
    list["item"].as_array().unwrap().len()
}

#[tokio::test]
async fn keys_are_created_listed_and_read_in_aws_shapes() {
    let (stack, _) = start().await;
    let created = stack
        .request(
            "POST",
            "/apikeys",
            &JSON,
            r#"{"name":"bob","description":"d","enabled":true,"tags":{"a":"b"}}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert_eq!(body["value"].as_str().unwrap().len(), 40);
    assert_eq!(body["name"], "bob");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["createdDate"], 1_715_774_400);
    assert_eq!(body["lastUpdatedDate"], 1_715_774_400);
    assert_eq!(body["stageKeys"], json!([]));

    let list = stack.get("/apikeys").await.json();
    let items = list["item"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|k| k.get("value").is_none()));
    let list = stack
        .get("/apikeys?includeValues=true&name=al")
        .await
        .json();
    assert_eq!(list["item"][0]["value"], "alice-key-0123456789abcdef");
    assert_eq!(list["item"][0]["description"], "Alice's key");
    assert_eq!(list["item"].as_array().unwrap().len(), 1);
    let page = stack.get("/apikeys?limit=1").await.json();
    assert_eq!(page["item"].as_array().unwrap().len(), 1);
    assert_eq!(page["position"], "1");

    let one = stack.get(&format!("/apikeys/{id}")).await;
    assert_eq!(one.status, 200);
    assert!(one.json().get("value").is_none());
    let one = stack.get(&format!("/apikeys/{id}?includeValue=true")).await;
    assert_eq!(one.json()["value"], body["value"]);
}

#[tokio::test]
async fn usage_plans_and_usage_come_in_aws_shapes() {
    let (stack, clock) = start().await;
    let api_id = stack.stack.config().apis[0].id.clone();
    let plans = stack.get("/usageplans").await;
    assert_eq!(plans.status, 200);
    assert_eq!(
        plans.json(),
        json!({"item": [{
            "id": "basic",
            "name": "Basic",
            "description": "for tests",
            "apiStages": [{
                "apiId": api_id,
                "stage": "prod",
                "throttle": {"/pets/GET": {"burstLimit": 100, "rateLimit": 50.0}}
            }],
            "throttle": {"burstLimit": 20, "rateLimit": 10.0},
            "quota": {"limit": 10, "offset": 1, "period": "WEEK"}
        }]})
    );
    assert_eq!(stack.get("/usageplans/basic").await.json()["id"], "basic");
    let created = stack
        .request("POST", "/apikeys", &JSON, r#"{"name":"loner"}"#)
        .await;
    let loner = created.json()["id"].as_str().unwrap().to_owned();
    let of_loner = stack.get(&format!("/usageplans?keyId={loner}")).await;
    assert_eq!(of_loner.json()["item"], json!([]));
    assert_eq!(stack.get("/usageplans?keyId=nope").await.status, 404);

    let alice = [("x-api-key", "alice-key-0123456789abcdef")];
    for _ in 0..3 {
        assert_eq!(
            stack.request("GET", "/prod/pets", &alice, "").await.status,
            200
        );
    }
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        stack.request("GET", "/prod/pets", &alice, "").await.status,
        200
    );
    let usage = stack
        .get("/usageplans/basic/usage?startDate=2024-05-14&endDate=2024-05-17")
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text());
    let key_id = stack.get("/apikeys?name=alice").await.json()["item"][0]["id"].clone();
    let key_id = key_id.as_str().unwrap();
    // The week started on Monday 13th (offset 1): remaining counts down across days.
    assert_eq!(
        usage.json(),
        json!({
            "usagePlanId": "basic",
            "startDate": "2024-05-14",
            "endDate": "2024-05-17",
            "values": { key_id: [[0, 10], [3, 7], [1, 6], [0, 6]] }
        })
    );
    let one = stack
        .get(&format!(
            "/usageplans/basic/usage?keyId={key_id}&startDate=2024-05-15&endDate=2024-05-15"
        ))
        .await;
    assert_eq!(one.json()["values"], json!({ key_id: [[3, 7]] }));
}

#[tokio::test]
async fn bad_input_gets_aws_errors_and_changes_nothing() {
    let (stack, _) = start().await;
    let before = key_count(&stack).await;
    let bad_json = stack.request("POST", "/apikeys", &JSON, "{not json").await;
    assert_eq!(bad_json.status, 400);
    assert_eq!(
        bad_json.header("x-amzn-errortype"),
        Some("BadRequestException")
    );
    assert!(bad_json.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid request body"));
    let short = stack
        .request("POST", "/apikeys", &JSON, r#"{"name":"x","value":"short"}"#)
        .await;
    assert_error(
        &short,
        400,
        "BadRequestException",
        "API Key value should be at least 20 characters",
    );
    let taken = stack
        .request(
            "POST",
            "/apikeys",
            &JSON,
            r#"{"name":"x","value":"alice-key-0123456789abcdef"}"#,
        )
        .await;
    assert_error(
        &taken,
        409,
        "ConflictException",
        "API Key value already exists",
    );
    assert_eq!(key_count(&stack).await, before);

    assert_error(
        &stack.get("/apikeys/nope").await,
        404,
        "NotFoundException",
        "Invalid API Key identifier specified",
    );
    assert_error(
        &stack.get("/usageplans/nope").await,
        404,
        "NotFoundException",
        "Invalid Usage Plan identifier specified",
    );
    assert_error(
        &stack.get("/apikeys/nope/extra").await,
        404,
        "NotFoundException",
        "Invalid resource identifier specified",
    );
    assert_error(
        &stack.get("/apikeys?limit=lots").await,
        400,
        "BadRequestException",
        "Invalid limit `lots`",
    );
    let stack = &stack;
    let usage = |query: &str| {
        let path = format!("/usageplans/basic/usage?{query}");
        async move { stack.get(&path).await }
    };
    assert_error(
        &usage("startDate=2024-13-01&endDate=2024-05-01").await,
        400,
        "BadRequestException",
        "Invalid startDate `2024-13-01`: expected YYYY-MM-DD",
    );
    assert_error(
        &usage("startDate=2024-05-02&endDate=2024-05-01").await,
        400,
        "BadRequestException",
        "The end date must not be before the start date",
    );
    assert_error(
        &usage("endDate=2024-05-01").await,
        400,
        "BadRequestException",
        "startDate is required (YYYY-MM-DD)",
    );
    assert_error(
        &usage("keyId=nope&startDate=2024-05-01&endDate=2024-05-01").await,
        404,
        "NotFoundException",
        "Invalid API Key identifier specified",
    );

    let alice = stack.get("/apikeys").await.json()["item"][0]["id"].clone();
    let alice = alice.as_str().unwrap();
    let join = |body: String| stack.request("POST", "/usageplans/basic/keys", &JSON, body);
    assert_error(
        &join(r#"{"keyId":"nope","keyType":"API_KEY"}"#.into()).await,
        404,
        "NotFoundException",
        "Invalid API Key identifier specified",
    );
    assert_error(
        &join(format!(r#"{{"keyId":"{alice}","keyType":"COGNITO"}}"#)).await,
        400,
        "BadRequestException",
        "Invalid keyType `COGNITO`: only API_KEY is supported",
    );
    assert_error(
        &join(format!(r#"{{"keyId":"{alice}","keyType":"API_KEY"}}"#)).await,
        409,
        "ConflictException",
        "Usage Plan Key already exists",
    );

    // A patch with one bad operation applies none of them.
    let patch = r#"{"patchOperations":[
        {"op":"replace","path":"/enabled","value":"false"},
        {"op":"replace","path":"/name","value":"mallory"}]}"#;
    let res = stack
        .request("PATCH", &format!("/apikeys/{alice}"), &JSON, patch)
        .await;
    assert_eq!(res.status, 400);
    let key = stack.get(&format!("/apikeys/{alice}")).await.json();
    assert_eq!(
        (key["enabled"].clone(), key["name"].clone()),
        (json!(true), json!("alice"))
    );
    let ok = stack
        .request(
            "GET",
            "/prod/pets",
            &[("x-api-key", "alice-key-0123456789abcdef")],
            "",
        )
        .await;
    assert_eq!(ok.status, 200);
}
