//! Embedded Metric Format: with `[logs] emf = "group:NAME"`, every metric sample the gateway
//! and Lambda record is also a CloudWatch EMF JSON line in that log group, read back here
//! exactly over the admin API; bad `emf` values are config errors at their place.

mod common;

use std::time::{Duration, SystemTime};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::observe::metrics::merged_stats;
use portico_runtime::{async_trait, Clock, Config, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

struct Ok200;

#[async_trait]
impl Handler for Ok200 {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Ok(json!({"statusCode": 200, "body": "ok"}))
    }
}

const TOML: &str = r#"
[logs]
stdout = false
access_log = false
emf = "group:/portico/emf-test"

[apis.shop]
type = "http"
[[apis.shop.routes]]
route = "GET /ok"
function = "ok"
"#;

const NOW_MS: u64 = 1_800_000_000_000;

async fn read_group(url: &str, group: &str) -> Vec<Value> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let uri = format!("{url}/logs?group={}", group.replace('/', "%2F"));
    let res = client.get(uri.parse().unwrap()).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    parsed["events"].as_array().unwrap().clone()
}

fn gateway_line(name: &str, unit: &str, value: Value) -> Value {
    json!({
        "_aws": {"Timestamp": NOW_MS, "CloudWatchMetrics": [{
            "Namespace": "AWS/ApiGateway",
            "Dimensions": [["ApiId", "ApiName", "Route", "Stage"]],
            "Metrics": [{"Name": name, "Unit": unit}],
        }]},
        "ApiId": API_ID.get().unwrap(), "ApiName": "shop", "Route": "GET /ok", "Stage": "$default",
        name: value,
    })
}

static API_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[tokio::test]
async fn each_sample_is_an_emf_line_in_the_group() {
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_millis(NOW_MS));
    let mut registry = Registry::new();
    registry.register("ok", Ok200);
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock).await;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", admin.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin, app).await });

    let res = stack.get("/ok").await;
    assert_eq!(res.status, 200);
    let events = read_group(&url, "/portico/emf-test").await;
    let lines: Vec<Value> = events
        .iter()
        .map(|e| {
            assert_eq!(e["timestamp"], NOW_MS);
            serde_json::from_str(e["message"].as_str().unwrap()).unwrap()
        })
        .collect();
    let find = |namespace: &str, name: &str| -> Value {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| {
                l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == namespace && l.get(name).is_some()
            })
            .collect();
        assert_eq!(found.len(), 1, "one {name} line in {lines:#?}");
        found[0].clone()
    };
    let count = find("AWS/ApiGateway", "Count");
    let _ = API_ID.set(count["ApiId"].as_str().unwrap().to_owned());
    assert_eq!(count, gateway_line("Count", "Count", json!(1)));
    assert_eq!(
        find("AWS/ApiGateway", "4XXError"),
        gateway_line("4XXError", "Count", json!(0))
    );
    assert_eq!(
        find("AWS/ApiGateway", "5XXError"),
        gateway_line("5XXError", "Count", json!(0))
    );
    // Latency: the value is the one the metrics registry holds, in milliseconds.
    let latency = find("AWS/ApiGateway", "Latency");
    let series: Vec<_> = stack
        .stack
        .metrics()
        .find("AWS/ApiGateway", "Latency", &[])
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let minute = NOW_MS / 60_000;
    let recorded_ms = merged_stats(&series, minute, minute).sum as f64 / 1000.0;
    assert_eq!(
        latency,
        gateway_line("Latency", "Milliseconds", json!(recorded_ms))
    );
    let invocations = find("AWS/Lambda", "Invocations");
    assert_eq!(
        invocations,
        json!({
            "_aws": {"Timestamp": NOW_MS, "CloudWatchMetrics": [{
                "Namespace": "AWS/Lambda",
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": "Invocations", "Unit": "Count"}],
            }]},
            "FunctionName": "ok",
            "Invocations": 1,
        })
    );
    assert_eq!(find("AWS/Lambda", "Errors")["Errors"], 0);
    assert_eq!(
        find("AWS/Lambda", "Duration")["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "Duration", "Unit": "Milliseconds"}])
    );

    // The cold start's InitDuration is a sample too.
    assert_eq!(
        find("AWS/Lambda", "InitDuration")["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "InitDuration", "Unit": "Milliseconds"}])
    );

    // A second request, on the warm instance: one more line per sample, no InitDuration.
    let before = lines.len();
    stack.get("/ok").await;
    let after = read_group(&url, "/portico/emf-test").await;
    assert_eq!(after.len(), before * 2 - 1);
    assert!(after[before..]
        .iter()
        .all(|e| !e["message"].as_str().unwrap().contains("InitDuration")));
}

#[test]
fn bad_emf_settings_are_config_errors_at_their_place() {
    for (logs, problem) in [
        (
            "emf = \"file:/tmp/x\"",
            "must be \"stdout\" or \"group:LOG_GROUP_NAME\"",
        ),
        (
            "emf = \"group:\"",
            "must be \"stdout\" or \"group:LOG_GROUP_NAME\"",
        ),
        (
            "metrics = false\nemf = \"stdout\"",
            "`emf` needs `metrics = true`",
        ),
    ] {
        let toml = format!("[logs]\n{logs}\n");
        let errors = match Config::from_toml(&toml, "bad.toml", &shipped_registry()) {
            Ok(_) => panic!("`{logs}` was accepted"),
            Err(e) => e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        let line = logs.lines().count() + 1;
        assert!(
            errors[0].starts_with(&format!("bad.toml:{line}:7: ")),
            "{errors:?}"
        );
        assert!(errors[0].contains(problem), "{errors:?}");
    }
    let config =
        Config::from_toml("[logs]\nemf = \"stdout\"\n", "ok.toml", &shipped_registry()).unwrap();
    assert_eq!(
        config.logs.emf,
        Some(portico_runtime::config::EmfDestination::Stdout)
    );
}
