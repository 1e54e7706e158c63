//! Versions and aliases over real HTTP: qualifiers in every form, X-Amz-Executed-Version,
//! weighted aliases, and routes that target an alias.

mod common;

use common::{quiet, TestStack};
use portico_runtime::{LambdaEvent, Registry};
use serde_json::{json, Value};

async fn v_latest(e: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(
        json!({"code": "latest", "version": e.context.env_config.version, "arn": e.context.invoked_function_arn, "statusCode": 200, "body": "latest"}),
    )
}

async fn v_one(e: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(
        json!({"code": "one", "version": e.context.env_config.version, "arn": e.context.invoked_function_arn, "statusCode": 200, "body": "one"}),
    )
}

const TOML: &str = r#"
[functions.calc]
handler = "latest"

[[functions.calc.versions]]
handler = "one"

[[functions.calc.versions]]
description = "the code of $LATEST at publication"
memory_mb = 512

[functions.calc.aliases.live]
version = "1"

[functions.calc.aliases.canary]
version = "1"
additional_version = "2"
weight = 0.5

[apis.http]
type = "http"
[[apis.http.routes]]
route = "GET /live"
function = "calc:live"
[[apis.http.routes]]
route = "GET /latest"
function = "calc"
"#;

async fn start() -> TestStack {
    let mut r = Registry::new();
    r.register_fn("latest", v_latest).register_fn("one", v_one);
    TestStack::start(&quiet(TOML), &r).await
}

#[tokio::test]
async fn qualifiers_pick_the_version_and_report_it() {
    let stack = start().await;
    let cases = [
        ("/2015-03-31/functions/calc/invocations", "$LATEST", "latest"),
        ("/2015-03-31/functions/calc/invocations?Qualifier=1", "1", "one"),
        ("/2015-03-31/functions/calc:2/invocations", "2", "latest"),
        ("/2015-03-31/functions/calc:live/invocations", "1", "one"),
        ("/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:calc:live/invocations", "1", "one"),
        ("/2015-03-31/functions/calc/invocations?Qualifier=$LATEST", "$LATEST", "latest"),
    ];
    for (path, version, code) in cases {
        let res = stack.request("POST", path, &[], "{}").await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        assert_eq!(
            res.header("x-amz-executed-version"),
            Some(version),
            "{path}"
        );
        assert_eq!(res.json()["code"], code, "{path}");
        assert_eq!(res.json()["version"], version, "{path}");
    }
    let aliased = stack
        .request(
            "POST",
            "/2015-03-31/functions/calc:live/invocations",
            &[],
            "{}",
        )
        .await;
    assert_eq!(
        aliased.json()["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:calc:live"
    );
}

#[tokio::test]
async fn unknown_qualifiers_are_not_found() {
    let stack = start().await;
    for q in ["3", "nope"] {
        let res = stack
            .request(
                "POST",
                &format!("/2015-03-31/functions/calc:{q}/invocations"),
                &[],
                "{}",
            )
            .await;
        assert_eq!(res.status, 404);
        assert_eq!(
            res.header("x-amzn-errortype"),
            Some("ResourceNotFoundException")
        );
        assert_eq!(
            res.json()["message"],
            format!("Function not found: arn:aws:lambda:us-east-1:123456789012:function:calc:{q}")
        );
    }
}

#[tokio::test]
async fn a_weighted_alias_splits_traffic_between_two_versions() {
    let stack = start().await;
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..200 {
        let res = stack
            .request(
                "POST",
                "/2015-03-31/functions/calc:canary/invocations",
                &[],
                "{}",
            )
            .await;
        *seen
            .entry(res.header("x-amz-executed-version").unwrap().to_owned())
            .or_insert(0) += 1;
    }
    let (one, two) = (seen["1"], seen["2"]);
    assert!(one > 50 && two > 50, "a 50/50 split, got {seen:?}");
}

#[tokio::test]
async fn routes_can_target_an_alias() {
    let stack = start().await;
    assert_eq!(stack.get("/live").await.text(), "one");
    assert_eq!(stack.get("/latest").await.text(), "latest");
}
