//! AWS/Lambda, AWS/States, cache and per-key usage metrics, read back exactly over the admin
//! API (GetMetricData-shaped queries and `/dashboard/data`) after sending known traffic.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, TestResponse, TestStack};
use portico_runtime::workflow::{ExecutionStatus, MachineType, NewStateMachine};
use portico_runtime::{async_trait, Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};
use tokio::sync::Barrier;

const START: u64 = 1_700_000_000;
const KEY: &str = "alice-key-0123456789abcdef";

/// Waits until `n` invocations are in flight together, then answers (or fails on `?fail`).
struct Gathering(Arc<Barrier>);

#[async_trait]
impl Handler for Gathering {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        if event["queryStringParameters"]["fail"].is_string() {
            return Err(FunctionError::unhandled("Bad", "asked to fail"));
        }
        if event["queryStringParameters"]["gather"].is_string() {
            self.0.wait().await;
        }
        Ok(json!({"statusCode": 200, "body": "ok"}))
    }
}

const TOML: &str = r#"
[throttle]
rate_limit = 100000
burst_limit = 100000

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
cache = { ttl = "60s" }

[[apis.shop.routes]]
route = "GET /work"
function = "work"
cache = { enabled = false }

[[apis.shop.routes]]
route = "GET /cached"
function = "work"

[[apis.shop.routes]]
route = "GET /keyed"
function = "work"
api_key_required = true
cache = { enabled = false }

[[usage_plans]]
id = "basic"
stages = [{ api = "shop", stage = "prod" }]
throttle = { rate_limit = 1, burst_limit = 2 }
quota = { limit = 10, period = "DAY" }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]
"#;

async fn start() -> (TestStack, String, Clock) {
    let mut registry = Registry::new();
    registry.register("work", Gathering(Arc::new(Barrier::new(3))));
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(START));
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", admin.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin, app).await });
    (stack, url, clock)
}

async fn admin(url: &str, method: &str, body: &str) -> TestResponse {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    TestResponse {
        status,
        headers,
        body,
    }
}

async fn metric(url: &str, ns: &str, name: &str, stat: &str, dims: &[(&str, &str)]) -> Value {
    let dims: Vec<Value> = dims
        .iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect();
    let body = json!({
        "MetricDataQueries": [{"Id": "q", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims}, "Period": 60, "Stat": stat}}],
        "StartTime": START - 600, "EndTime": START + 600,
    });
    let res = admin(&format!("{url}/metrics/query"), "POST", &body.to_string()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["MetricDataResults"][0]["Values"].clone()
}

#[tokio::test]
async fn lambda_metrics_count_invocations_errors_durations_and_concurrency() {
    let (stack, url, _clock) = start().await;
    let (a, b, c) = tokio::join!(
        stack.get("/prod/work?gather=1"),
        stack.get("/prod/work?gather=1"),
        stack.get("/prod/work?gather=1")
    );
    assert_eq!([a.status, b.status, c.status], [200, 200, 200]);
    assert_eq!(stack.get("/prod/work").await.status, 200);
    assert_eq!(stack.get("/prod/work?fail=1").await.status, 502);
    let f = [("FunctionName", "work")];
    assert_eq!(
        metric(&url, "AWS/Lambda", "Invocations", "Sum", &f).await,
        json!([5.0])
    );
    assert_eq!(
        metric(&url, "AWS/Lambda", "Errors", "Sum", &f).await,
        json!([1.0])
    );
    assert_eq!(
        metric(&url, "AWS/Lambda", "Duration", "SampleCount", &f).await,
        json!([5])
    );
    assert_eq!(
        metric(&url, "AWS/Lambda", "ConcurrentExecutions", "Maximum", &f).await,
        json!([3.0])
    );
    let data = admin(&format!("{url}/dashboard/data"), "GET", "")
        .await
        .json();
    let work = &data["functions"][0];
    assert_eq!(
        (work["name"].as_str(), work["invocations"].as_u64()),
        (Some("work"), Some(5))
    );
    assert_eq!(
        (work["errors"].as_u64(), work["maxConcurrency"].as_u64()),
        (Some(1), Some(3))
    );
}

#[tokio::test]
async fn cache_hits_and_misses_per_stage_and_route() {
    let (stack, url, _clock) = start().await;
    for _ in 0..3 {
        assert_eq!(stack.get("/prod/cached").await.status, 200);
    }
    assert_eq!(stack.get("/prod/work").await.status, 200);
    let route = [("Stage", "prod"), ("Route", "GET /cached")];
    assert_eq!(
        metric(&url, "AWS/ApiGateway", "CacheHitCount", "Sum", &route).await,
        json!([2.0])
    );
    assert_eq!(
        metric(&url, "AWS/ApiGateway", "CacheMissCount", "Sum", &route).await,
        json!([1.0])
    );
    let other = [("Route", "GET /work")];
    assert_eq!(
        metric(&url, "AWS/ApiGateway", "CacheHitCount", "Sum", &other).await,
        json!([])
    );
    let data = admin(&format!("{url}/dashboard/data"), "GET", "")
        .await
        .json();
    assert_eq!(
        data["gateway"]["cache"],
        json!({"hits": 2, "misses": 1, "hitRatio": 2.0 / 3.0})
    );
    assert_eq!(data["gateway"]["requests"], 4);
}

#[tokio::test]
async fn usage_per_key_requests_throttles_and_quota() {
    let (stack, url, _clock) = start().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            stack
                .request("GET", "/prod/keyed", &[("x-api-key", KEY)], "")
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    let data = admin(&format!("{url}/dashboard/data"), "GET", "")
        .await
        .json();
    let alice = &data["usage"]["keys"][0];
    assert_eq!(alice["name"], "alice");
    assert_eq!(
        (alice["requests"].as_u64(), alice["throttled"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        alice["quotas"],
        json!([{"plan": "basic", "limit": 10, "used": 2}])
    );
    assert_eq!(data["usage"]["throttled"], 2);
}

#[tokio::test]
async fn step_functions_executions_by_outcome_and_time() {
    let (stack, url, clock) = start().await;
    let service = stack.stack.workflows().clone();
    let create = |name: &str, kind, definition: &str| {
        service
            .create_state_machine(NewStateMachine {
                name: name.into(),
                definition: definition.into(),
                role_arn: None,
                kind,
            })
            .unwrap()
            .arn
    };
    let ok = create(
        "ok",
        MachineType::Express,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}"#,
    );
    let bad = create(
        "bad",
        MachineType::Express,
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}"#,
    );
    let slow = create(
        "slow",
        MachineType::Standard,
        r#"{"TimeoutSeconds":2,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}"#,
    );
    for _ in 0..2 {
        let e = service.start_sync_execution(&ok, None, None).await.unwrap();
        assert_eq!(e.status, ExecutionStatus::Succeeded);
    }
    let e = service
        .start_sync_execution(&bad, None, None)
        .await
        .unwrap();
    assert_eq!(e.status, ExecutionStatus::Failed);
    let (arn, _) = service.start_execution(&slow, None, None).await.unwrap();
    let finished = service.wait_for(&arn);
    tokio::pin!(finished);
    loop {
        tokio::select! {
            e = &mut finished => { assert_eq!(e.unwrap().status, ExecutionStatus::TimedOut); break; }
            _ = tokio::task::yield_now() => {
                if clock.sleepers() > 0 { clock.advance(Duration::from_secs(1)); }
            }
        }
    }
    let q = |name: &'static str, stat: &'static str, arn: String| {
        let url = url.clone();
        async move {
            metric(
                &url,
                "AWS/States",
                name,
                stat,
                &[("StateMachineArn", arn.as_str())],
            )
            .await
        }
    };
    assert_eq!(
        q("ExecutionsStarted", "Sum", ok.clone()).await,
        json!([2.0])
    );
    assert_eq!(
        q("ExecutionsSucceeded", "Sum", ok.clone()).await,
        json!([2.0])
    );
    assert_eq!(
        q("ExecutionsFailed", "Sum", bad.clone()).await,
        json!([1.0])
    );
    assert_eq!(
        q("ExecutionsSucceeded", "Sum", bad.clone()).await,
        json!([])
    );
    assert_eq!(
        q("ExecutionsTimedOut", "Sum", slow.clone()).await,
        json!([1.0])
    );
    assert_eq!(
        q("ExecutionTime", "Maximum", slow.clone()).await,
        json!([2000.0])
    );
    let data = admin(&format!("{url}/dashboard/data"), "GET", "")
        .await
        .json();
    let runs = data["executions"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let ok_run = runs.iter().find(|r| r["machine"] == "ok").unwrap();
    assert_eq!(ok_run["path"], json!(["A", "B"]));
    assert_eq!(ok_run["status"], "SUCCEEDED");
}

#[tokio::test]
async fn metrics_off_records_nothing() {
    let mut registry = Registry::new();
    registry.register("work", Gathering(Arc::new(Barrier::new(1))));
    let toml = quiet(TOML).replace("[logs]\n", "[logs]\nmetrics = false\n");
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(START));
    let stack = TestStack::start_with_clock(&toml, &registry, clock).await;
    let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", admin_listener.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin_listener, app).await });
    assert_eq!(stack.get("/prod/work").await.status, 200);
    assert_eq!(stack.get("/prod/cached").await.status, 200);
    assert_eq!(
        metric(&url, "AWS/ApiGateway", "Count", "Sum", &[]).await,
        json!([])
    );
    assert_eq!(
        metric(&url, "AWS/Lambda", "Invocations", "Sum", &[]).await,
        json!([])
    );
    assert_eq!(
        metric(&url, "AWS/ApiGateway", "CacheMissCount", "Sum", &[]).await,
        json!([])
    );
}
