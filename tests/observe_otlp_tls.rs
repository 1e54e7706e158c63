//! OTLP export to an https:// collector: the exporter trusts the system's CA bundle, which
//! `SSL_CERT_FILE` names; here the collector's self-signed certificate. One test in its own
//! binary, because it sets that variable for the whole process before the stack starts.

mod common;
mod otlp_support;
mod tls_support;
mod upstream_support;

use common::{quiet, TestStack};
use otlp_support::{by_name, collector, names, next, spans, WhoAmI};
use portico_runtime::Registry;
use tls_support::Certificate;

#[tokio::test]
async fn spans_reach_an_https_collector_trusted_through_ssl_cert_file() {
    let cert = Certificate::new("otlp");
    std::env::set_var("SSL_CERT_FILE", cert.ca_file());
    let (endpoint, mut rx) = collector(vec![], Some(cert.acceptor())).await;
    assert!(endpoint.starts_with("https://localhost:"), "{endpoint}");
    let toml = format!(
        r#"
[logs]
stdout = false
otlp_endpoint = "{endpoint}"

[apis.shop]
type = "http"
[[apis.shop.routes]]
route = "GET /who"
function = "whoami"
"#
    );
    let mut registry = Registry::new();
    registry.register("whoami", WhoAmI);
    let stack = TestStack::start(&quiet(&toml), &registry).await;
    let res = stack.request("GET", "/who", &[], "").await;
    assert_eq!(res.status, 200, "{}", res.text());

    let (path, content_type, body) = next(&mut rx).await;
    assert_eq!(path, "/otel/v1/traces");
    assert_eq!(content_type, "application/json");
    let spans = spans(&body);
    assert_eq!(names(&spans), ["GET /who", "admission", "function"]);
    assert_eq!(by_name(&spans, "GET /who")["kind"], 2, "SERVER");
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    while counters.exported.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        counters.failed.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}
