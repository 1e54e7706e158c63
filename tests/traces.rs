//! `X-Amzn-Trace-Id` accepted or created, handed to the function and returned, and each
//! request's timeline (gateway, admission, cache, function) read back from the admin API.

mod common;

use common::{admin_get, quiet, TestStack};
use portico_runtime::{async_trait, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Answers with the trace id its context received.
struct Traced;

#[async_trait]
impl Handler for Traced {
    async fn call(&self, _event: Value, ctx: Context) -> Result<Value, FunctionError> {
        Ok(json!({"statusCode": 200, "body": ctx.xray_trace_id.unwrap_or_default()}))
    }
}

const TOML: &str = r#"
[logs]
stdout = false
traces = true

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
cache = { ttl = "60s" }
[[apis.shop.routes]]
route = "GET /traced"
function = "traced"
"#;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";

async fn start(toml: &str) -> (TestStack, String) {
    let mut registry = Registry::new();
    registry.register("traced", Traced);
    let stack = TestStack::start(&quiet(toml), &registry).await;
    let url = stack.serve_admin().await;
    (stack, url)
}

fn names(trace: &Value) -> Vec<(String, Value)> {
    trace["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["detail"].clone()))
        .collect()
}

#[tokio::test]
async fn a_given_trace_id_reaches_the_function_and_its_timeline_is_kept() {
    let (stack, url) = start(TOML).await;
    let first = stack
        .request("GET", "/prod/traced", &[("x-amzn-trace-id", HEADER)], "")
        .await;
    assert_eq!(
        first.text(),
        HEADER,
        "the function's context has the header"
    );
    assert_eq!(first.header("x-amzn-trace-id"), Some(HEADER));
    let second = stack
        .request("GET", "/prod/traced", &[("x-amzn-trace-id", HEADER)], "")
        .await;
    assert_eq!(second.status, 200);

    let encoded = ROOT.replace('=', "%3D");
    let res = admin_get(&format!("{url}/traces/{encoded}")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let traces = res.json()["traces"].clone();
    assert_eq!(traces.as_array().unwrap().len(), 2);
    let miss = &traces[0];
    assert_eq!(miss["traceId"], ROOT);
    assert_eq!(miss["header"], HEADER);
    assert_eq!(miss["requestId"].as_str(), first.header("x-amzn-requestid"));
    assert_eq!(miss["request"], "GET /prod/traced");
    assert_eq!(miss["status"], 200);
    assert_eq!(
        names(miss),
        [
            ("gateway".to_owned(), Value::Null),
            ("admission".to_owned(), Value::Null),
            ("cache".to_owned(), json!("miss")),
            ("function".to_owned(), json!("traced")),
        ]
    );
    // Segments nest inside the request: each ends before the gateway segment does.
    let total = miss["segments"][0]["durationUs"].as_u64().unwrap();
    for s in miss["segments"].as_array().unwrap() {
        assert!(s["startUs"].as_u64().unwrap() + s["durationUs"].as_u64().unwrap() <= total);
    }
    assert_eq!(
        names(&traces[1]),
        [
            ("gateway".to_owned(), Value::Null),
            ("admission".to_owned(), Value::Null),
            ("cache".to_owned(), json!("hit")),
        ],
        "a cache hit invokes nothing"
    );
}

#[tokio::test]
async fn created_ids_are_listed_newest_first_and_bad_queries_fail_clearly() {
    let (stack, url) = start(TOML).await;
    let a = stack.get("/prod/traced").await;
    let created = a.header("x-amzn-trace-id").unwrap().to_owned();
    assert!(
        created.starts_with("Root=1-") && a.text() == created,
        "{created}"
    );
    stack.get("/prod/nowhere").await;

    let list = admin_get(&format!("{url}/traces?limit=1")).await.json();
    assert_eq!(list["traces"].as_array().unwrap().len(), 1);
    assert_eq!(list["traces"][0]["request"], "GET /prod/nowhere");
    assert_eq!(list["traces"][0]["status"], 403);
    let list = admin_get(&format!("{url}/traces")).await.json();
    assert_eq!(list["traces"][1]["header"], created.as_str());

    for bad in ["limit=0", "limit=5000", "limit=x", "other=1"] {
        let res = admin_get(&format!("{url}/traces?{bad}")).await;
        assert_eq!(res.status, 400, "{bad}");
        assert!(res.text().contains("limit=N"), "{bad}");
    }
    let res = admin_get(&format!(
        "{url}/traces/Root%3D1-00000000-000000000000000000000000"
    ))
    .await;
    assert_eq!(res.status, 404);
    assert!(res.text().contains("no recent request"));
}

#[tokio::test]
async fn traces_off_keeps_no_timelines() {
    let toml = TOML.replace("traces = true", "traces = false");
    let (stack, url) = start(&toml).await;
    let res = stack
        .request("GET", "/prod/traced", &[("x-amzn-trace-id", HEADER)], "")
        .await;
    assert_eq!(res.text(), HEADER, "the header still reaches the function");
    let list = admin_get(&format!("{url}/traces")).await.json();
    assert_eq!(list["traces"], json!([]));
}
