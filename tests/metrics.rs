//! API Gateway metrics read back exactly over the admin API: Prometheus text and
//! GetMetricData-shaped queries; and the log groups API that `portico logs` reads.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, TestStack};
use portico_runtime::{async_trait, Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

struct Answer(u16);

#[async_trait]
impl Handler for Answer {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Ok(json!({"statusCode": self.0, "body": "x"}))
    }
}

const TOML: &str = r#"
[apis.m]
type = "http"
[[apis.m.routes]]
route = "GET /ok"
function = "ok"
[[apis.m.routes]]
route = "GET /teapot"
function = "teapot"
[[apis.m.routes]]
route = "GET /broken"
function = "broken"
"#;

const START: u64 = 1_700_000_000;

async fn start() -> (TestStack, String) {
    let mut registry = Registry::new();
    registry
        .register("ok", Answer(200))
        .register("teapot", Answer(418))
        .register("broken", Answer(1000));
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(START));
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock).await;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_url = format!("http://{}", admin.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin, app).await });
    (stack, admin_url)
}

async fn admin(stack: &TestStack, url: &str, method: &str, body: &str) -> common::TestResponse {
    // The admin API is another server; reuse the test client by absolute URL.
    let _ = stack;
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
    common::TestResponse {
        status,
        headers,
        body,
    }
}

async fn send_known_traffic(stack: &TestStack) {
    for _ in 0..3 {
        assert_eq!(stack.get("/ok").await.status, 200);
    }
    assert_eq!(stack.get("/teapot").await.status, 418);
    assert_eq!(stack.get("/broken").await.status, 502);
    assert_eq!(stack.get("/missing").await.status, 404);
}

fn query(metric: &str, stat: &str, dims: &[(&str, &str)]) -> String {
    let dims: Vec<Value> = dims
        .iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect();
    json!({
        "MetricDataQueries": [{"Id": "q", "MetricStat": {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": metric, "Dimensions": dims}, "Period": 60, "Stat": stat}}],
        "StartTime": START - 600, "EndTime": START + 600,
    })
    .to_string()
}

#[tokio::test]
async fn get_metric_data_returns_exact_counts() {
    let (stack, admin_url) = start().await;
    send_known_traffic(&stack).await;
    let url = format!("{admin_url}/metrics/query");
    let value = |res: common::TestResponse| res.json()["MetricDataResults"][0]["Values"].clone();
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("Count", "Sum", &[("ApiName", "m")])
            )
            .await
        ),
        json!([6.0])
    );
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("4XXError", "Sum", &[("ApiName", "m")])
            )
            .await
        ),
        json!([2.0])
    );
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("5XXError", "Sum", &[("ApiName", "m")])
            )
            .await
        ),
        json!([1.0])
    );
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("Count", "Sum", &[("Route", "GET /ok")])
            )
            .await
        ),
        json!([3.0])
    );
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("Count", "SampleCount", &[("Route", "-")])
            )
            .await
        ),
        json!([1])
    );
    assert_eq!(
        value(
            admin(
                &stack,
                &url,
                "POST",
                &query("IntegrationLatency", "SampleCount", &[("ApiName", "m")])
            )
            .await
        ),
        json!([5]),
        "no integration for the unmatched request"
    );
    let res = admin(
        &stack,
        &url,
        "POST",
        &query("Count", "Sum", &[("ApiName", "m")]),
    )
    .await;
    assert_eq!(
        res.json()["MetricDataResults"][0]["Timestamps"],
        json!([START / 60 * 60])
    );
}

#[tokio::test]
async fn prometheus_text_has_the_same_numbers() {
    let (stack, admin_url) = start().await;
    send_known_traffic(&stack).await;
    let text = admin(&stack, &format!("{admin_url}/metrics"), "GET", "")
        .await
        .text();
    assert!(
        text.contains("aws_apigateway_count_total{api_id="),
        "{text}"
    );
    let ok_count = text
        .lines()
        .find(|l| l.starts_with("aws_apigateway_count_total") && l.contains("route=\"GET /ok\""))
        .unwrap();
    assert!(ok_count.ends_with(" 3"), "{ok_count}");
}

#[tokio::test]
async fn bad_metric_queries_get_clear_errors() {
    let (stack, admin_url) = start().await;
    let url = format!("{admin_url}/metrics/query");
    for bad in [
        "{nope",
        r#"{"MetricDataQueries": [], "StartTime": 10, "EndTime": 5}"#,
        &query("Count", "Median", &[]),
        &query("Count", "Sum", &[]).replace("\"Period\":60", "\"Period\":61"),
    ] {
        let res = admin(&stack, &url, "POST", bad).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
        assert!(res.json()["message"].is_string());
    }
}

#[tokio::test]
async fn log_groups_are_readable_with_filters() {
    let (stack, admin_url) = start().await;
    send_known_traffic(&stack).await;
    let groups = admin(&stack, &format!("{admin_url}/logs/groups"), "GET", "")
        .await
        .json();
    let names: Vec<&str> = groups["logGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["logGroupName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"/aws/lambda/ok") && names.contains(&"/aws/apigateway/access-logs"),
        "{names:?}"
    );
    let res = admin(
        &stack,
        &format!("{admin_url}/logs?group=/aws/lambda/ok&filter=REPORT"),
        "GET",
        "",
    )
    .await;
    let events = res.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["message"]
        .as_str()
        .unwrap()
        .starts_with("REPORT RequestId: ")));
    let res = admin(&stack, &format!("{admin_url}/logs?group=/nope"), "GET", "").await;
    assert_eq!(res.status, 404);
    let res = admin(&stack, &format!("{admin_url}/logs"), "GET", "").await;
    assert_eq!(res.status, 400);
}
