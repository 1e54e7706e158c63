//! OTLP export: a collector started by the test (on port 0) receives each request's spans as
//! OTLP/HTTP JSON with the request's trace id and the parent links of its timeline; a workflow
//! execution that outlives its request follows with its states when it ends; a failed export
//! is retried with backoff on the stack's clock; a bad endpoint is a config error.

mod common;
mod otlp_support;
mod tls_support;
mod upstream_support;

use std::time::{Duration, SystemTime};

use common::{shipped_registry, TestStack};
use otlp_support::{by_name, collector, names, next, spans, QUICK_ROUTE, SLOW_WORKFLOW};
use portico_runtime::{Clock, Config};
use serde_json::json;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const OTLP_TRACE_ID: &str = "5759e988bd862e3fe1be46a994272793";

fn toml(endpoint: &str) -> String {
    let slow_route = "[[apis.shop.routes]]\nroute = \"POST /slow\"\nworkflow = \"slow\"\n";
    let fails = "[workflows.fails]\ndefinition = \"tests/fixtures/traces/fails.json\"\ntype = \"EXPRESS\"\n";
    let fails_route =
        "[[apis.shop.routes]]\nroute = \"POST /fails\"\nworkflow = \"fails\"\nsync = true\n";
    let rest = format!("{SLOW_WORKFLOW}{fails}{QUICK_ROUTE}{slow_route}{fails_route}");
    otlp_support::exporting_toml(endpoint, &rest)
}

/// The stack of [`toml`] exporting to `endpoint`, with `whoami` registered, on `clock`.
async fn start(endpoint: &str, clock: Clock) -> TestStack {
    otlp_support::start_exporting(&toml(endpoint), clock).await
}

#[tokio::test]
async fn a_requests_spans_reach_the_collector_with_its_trace_id_and_parents() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    let res = stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());

    let (path, content_type, body) = next(&mut rx).await;
    assert_eq!(path, "/otel/v1/traces");
    assert_eq!(content_type, "application/json");
    assert_eq!(
        body["resourceSpans"][0]["resource"]["attributes"][0],
        json!({"key": "service.name", "value": {"stringValue": "portico"}})
    );
    let spans = spans(&body);
    assert_eq!(
        names(&spans),
        [
            "POST /quick",
            "admission",
            "workflow",
            "state Prepare",
            "state Greet",
            "state Decide",
            "state Done"
        ]
    );
    for s in &spans {
        assert_eq!(s["traceId"], OTLP_TRACE_ID, "{s}");
        assert_eq!(s["spanId"].as_str().unwrap().len(), 16);
        let start: u128 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        let end: u128 = s["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
        assert!(start > 1_600_000_000_000_000_000 && end >= start, "{s}");
    }
    let gateway = by_name(&spans, "POST /quick");
    assert_eq!(gateway["kind"], 2, "SERVER");
    assert_eq!(
        gateway["parentSpanId"], "53995c3f42cd8ad8",
        "the caller's span"
    );
    let attrs = gateway["attributes"].as_array().unwrap();
    assert!(
        attrs.contains(&json!({"key": "http.response.status_code", "value": {"intValue": "200"}}))
    );
    let workflow = by_name(&spans, "workflow");
    assert_eq!(
        by_name(&spans, "admission")["parentSpanId"],
        gateway["spanId"]
    );
    assert_eq!(workflow["parentSpanId"], gateway["spanId"]);
    for state in ["Prepare", "Greet", "Decide", "Done"] {
        let s = by_name(&spans, &format!("state {state}"));
        assert_eq!(s["parentSpanId"], workflow["spanId"], "{state}");
    }
    // The Task's function saw the Greet span as its parent: one trace end to end.
    let greet = by_name(&spans, "state Greet");
    let seen = res.json()["trace"].as_str().unwrap().to_owned();
    assert!(seen.contains(&format!(";Parent={};", greet["spanId"].as_str().unwrap())));
}

#[tokio::test]
async fn the_workflow_span_of_a_failed_sync_execution_has_error_status() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let stack = start(&endpoint, Clock::system()).await;
    let res = stack
        .request("POST", "/fails", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 400, "{}", res.text());

    let (_, _, body) = next(&mut rx).await;
    let spans = spans(&body);
    assert_eq!(
        names(&spans),
        [
            "POST /fails",
            "admission",
            "workflow",
            "state Prepare",
            "state Reject"
        ]
    );
    let workflow = by_name(&spans, "workflow");
    assert_eq!(
        workflow["status"],
        json!({"code": 2, "message": "Order.Rejected: out of stock"})
    );
    let attrs = workflow["attributes"].as_array().unwrap();
    let arn = attrs
        .iter()
        .find(|a| a["key"] == "aws.step_functions.execution.arn")
        .and_then(|a| a["value"]["stringValue"].as_str())
        .unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:") && arn.contains(":fails:"),
        "{arn}"
    );
    assert!(
        attrs.contains(&json!({"key": "aws.step_functions.execution.status",
        "value": {"stringValue": "FAILED"}}))
    );
    assert_eq!(by_name(&spans, "state Reject")["status"]["code"], 2);
    assert!(by_name(&spans, "state Prepare").get("status").is_none());
}

#[tokio::test]
async fn a_workflow_that_outlives_its_request_is_exported_when_it_ends() {
    let (endpoint, mut rx) = collector(vec![], None).await;
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let stack = start(&endpoint, clock.clone()).await;
    let res = stack
        .request("POST", "/slow", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let arn = res.json()["executionArn"].as_str().unwrap().to_owned();

    // The request is exported when it ends, while the execution waits in `Pause`.
    let (_, _, request) = next(&mut rx).await;
    let request = spans(&request);
    assert_eq!(names(&request), ["POST /slow", "admission", "workflow"]);
    let workflow = by_name(&request, "workflow").clone();
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    let exported = || counters.exported.load(std::sync::atomic::Ordering::Relaxed);
    // Its export is answered before the clock moves (so no export times out).
    while exported() == 0 {
        tokio::task::yield_now().await;
    }
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    assert!(
        rx.try_recv().is_err(),
        "nothing more before the execution ends"
    );

    clock.advance(Duration::from_secs(60));
    let (_, _, execution) = next(&mut rx).await;
    let execution = spans(&execution);
    assert_eq!(
        names(&execution),
        ["state Prepare", "state Pause", "state Greet", "state Done"]
    );
    for s in &execution {
        assert_eq!(s["traceId"], OTLP_TRACE_ID, "{s}");
        assert_eq!(s["parentSpanId"], workflow["spanId"], "{s}");
        let attrs = s["attributes"].as_array().unwrap();
        assert!(
            attrs.contains(&json!({"key": "aws.step_functions.execution.arn",
                "value": {"stringValue": arn}})),
            "{s}"
        );
    }
    while exported() < 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        counters.dropped.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn a_failed_export_is_retried_after_a_backoff_on_the_clock() {
    let (endpoint, mut rx) = collector(vec![503], None).await;
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let stack = start(&endpoint, clock.clone()).await;
    let res = stack
        .request("POST", "/quick", &[("x-amzn-trace-id", HEADER)], "{}")
        .await;
    assert_eq!(res.status, 200);
    let (_, _, first) = next(&mut rx).await;
    // The exporter waits on the clock before its retry; nothing is sent until it moves.
    while clock.sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    assert!(rx.try_recv().is_err(), "no retry before the backoff");
    // Moved in backoff-sized steps while anything sleeps, so that another sleeper registered
    // first cannot make the retry's wake-up be missed.
    let retried = async {
        loop {
            if let Ok(received) = rx.try_recv() {
                break received.2;
            }
            if clock.sleepers() > 0 {
                clock.advance(Duration::from_millis(200));
            }
            tokio::task::yield_now().await;
        }
    };
    let second = tokio::time::timeout(Duration::from_secs(30), retried)
        .await
        .expect("no retry arrived");
    assert_eq!(first, second, "the same batch is sent again");
    let exporter = stack.stack.otlp_exporter().unwrap();
    let counters = exporter.counters();
    while counters.exported.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        counters.retries.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        counters.dropped.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        counters.failed.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn an_https_collector_with_an_untrusted_certificate_gets_nothing_and_counts_failed() {
    let cert = tls_support::Certificate::new("otlp-untrusted");
    let (endpoint, mut rx) = collector(vec![], Some(cert.acceptor())).await;
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let stack = start(&endpoint, clock.clone()).await;
    let res = stack.request("POST", "/quick", &[], "{}").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    let failed = || counters.failed.load(std::sync::atomic::Ordering::Relaxed);
    // Every try fails at the handshake; the clock moves through the backoffs between them.
    let given_up = async {
        while failed() == 0 {
            if clock.sleepers() > 0 {
                clock.advance(Duration::from_millis(200));
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), given_up)
        .await
        .expect("the export was not given up");
    assert_eq!(failed(), 1);
    assert_eq!(
        counters.retries.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    assert_eq!(
        counters.exported.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(rx.try_recv().is_err(), "no request passed the handshake");
}

#[test]
fn a_bad_endpoint_is_a_config_error_at_its_place() {
    for (endpoint, problem) in [
        ("not a url", "is not a URL"),
        ("ws://collector:4318", "must start with http:// or https://"),
        ("ftp://collector", "must start with http:// or https://"),
        ("http://collector:4318/?x=1", "must not have a query"),
    ] {
        let toml = format!("[logs]\nstdout = false\notlp_endpoint = \"{endpoint}\"\n");
        let errors = match Config::from_toml(&toml, "bad.toml", &shipped_registry()) {
            Ok(_) => panic!("`{endpoint}` was accepted"),
            Err(e) => e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("bad.toml:3:17: `otlp_endpoint"),
            "{errors:?}"
        );
        assert!(errors[0].contains(problem), "{errors:?}");
    }
    let ok = "[logs]\notlp_endpoint = \"http://127.0.0.1:4318/\"\n";
    let config = Config::from_toml(ok, "ok.toml", &shipped_registry()).unwrap();
    assert_eq!(
        config.logs.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
    assert!(config.logs.traces, "an exporter needs timelines");
    let https = "[logs]\notlp_endpoint = \"https://collector.example.com/otel\"\n";
    let config = Config::from_toml(https, "ok.toml", &shipped_registry()).unwrap();
    assert_eq!(
        config.logs.otlp_endpoint.as_deref(),
        Some("https://collector.example.com/otel")
    );
}
