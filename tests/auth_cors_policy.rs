//! CORS (preflights answered without the function, headers on errors too) and resource
//! policies by source IP range.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

struct Counting(Arc<AtomicUsize>);

#[async_trait]
impl Handler for Counting {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(json!({"statusCode": 200, "body": "hi"}))
    }
}

const TOML: &str = r#"
[apis.web]
type = "http"
[apis.web.cors]
allow_origins = ["https://app.example.com"]
allow_methods = ["GET", "POST"]
allow_headers = ["content-type", "authorization"]
expose_headers = ["x-request-id"]
max_age = 600
allow_credentials = true
[apis.web.authorizers.tok]
type = "token"
function = "counting"
[[apis.web.routes]]
route = "ANY /items"
function = "counting"
[[apis.web.routes]]
route = "GET /private"
function = "counting"
authorizer = "tok"

[apis.closed]
type = "rest"
base_path = "/closed"
[apis.closed.stages.dev]
[apis.closed.resource_policy]
allow_source_ips = ["10.0.0.0/8"]
[[apis.closed.routes]]
route = "GET /x"
function = "counting"

[apis.denied]
type = "rest"
base_path = "/denied"
[apis.denied.stages.dev]
[apis.denied.resource_policy]
allow_source_ips = ["127.0.0.0/8", "::1"]
deny_source_ips = ["127.0.0.1/32"]
[[apis.denied.routes]]
route = "GET /x"
function = "counting"

[apis.local]
type = "rest"
base_path = "/local"
[apis.local.stages.dev]
[apis.local.resource_policy]
allow_source_ips = ["127.0.0.0/8"]
[[apis.local.routes]]
route = "GET /x"
function = "counting"
"#;

async fn start() -> (TestStack, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    registry.register("counting", Counting(calls.clone()));
    (TestStack::start(&quiet(TOML), &registry).await, calls)
}

const ORIGIN: (&str, &str) = ("origin", "https://app.example.com");

#[tokio::test]
async fn preflight_is_answered_by_the_gateway() {
    let (stack, calls) = start().await;
    let res = stack
        .request(
            "OPTIONS",
            "/items",
            &[
                ORIGIN,
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "Content-Type"),
            ],
            "",
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(res.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type,authorization")
    );
    assert_eq!(res.header("access-control-max-age"), Some("600"));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    // Also for a route that needs an authorizer, and for a path with no route at all.
    for path in ["/private", "/nothing-here"] {
        let res = stack
            .request(
                "OPTIONS",
                path,
                &[ORIGIN, ("access-control-request-method", "GET")],
                "",
            )
            .await;
        assert_eq!(res.status, 204, "{path}");
        assert!(
            res.header("access-control-allow-origin").is_some(),
            "{path}"
        );
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no function ran for a preflight"
    );
}

#[tokio::test]
async fn disallowed_preflights_get_no_allow_headers() {
    let (stack, calls) = start().await;
    let cases: &[&[(&str, &str)]] = &[
        &[
            ("origin", "https://evil.example.com"),
            ("access-control-request-method", "GET"),
        ],
        &[ORIGIN, ("access-control-request-method", "DELETE")],
        &[
            ORIGIN,
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-secret"),
        ],
    ];
    for headers in cases {
        let res = stack.request("OPTIONS", "/items", headers, "").await;
        assert_eq!(res.status, 204);
        assert_eq!(
            res.header("access-control-allow-origin"),
            None,
            "{headers:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cors_headers_are_on_success_and_error_responses() {
    let (stack, _calls) = start().await;
    let ok = stack.request("GET", "/items", &[ORIGIN], "").await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        ok.header("access-control-expose-headers"),
        Some("x-request-id")
    );
    assert_eq!(ok.header("vary"), Some("Origin"));
    let unauthorized = stack.request("GET", "/private", &[ORIGIN], "").await;
    assert_eq!(unauthorized.status, 401);
    assert_eq!(
        unauthorized.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let not_found = stack.request("GET", "/nope", &[ORIGIN], "").await;
    assert_eq!(not_found.status, 404);
    assert_eq!(
        not_found.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let foreign = stack
        .request(
            "GET",
            "/items",
            &[("origin", "https://evil.example.com")],
            "",
        )
        .await;
    assert_eq!(foreign.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn resource_policies_allow_and_deny_by_source_ip() {
    let (stack, calls) = start().await;
    let not_in_allow = stack.get("/closed/dev/x").await;
    assert_eq!(not_in_allow.status, 403);
    assert_eq!(
        not_in_allow.json(),
        json!({"message": "User: anonymous is not authorized to perform: execute-api:Invoke"})
    );
    let deny_wins = stack.get("/denied/dev/x").await;
    assert_eq!(deny_wins.status, 403);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let allowed = stack.get("/local/dev/x").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cors_and_policy_config_errors() {
    let registry = common::shipped_registry();
    let bad = r#"
[apis.web]
type = "http"
[apis.web.cors]
allow_origins = ["*"]
allow_credentials = true
[apis.web.resource_policy]
allow_source_ips = ["10.0.0.0/40", "banana"]
[[apis.web.routes]]
route = "GET /x"
function = "echo"
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &registry)
        .expect_err("invalid")
        .to_string();
    assert!(
        errors.contains(
            "gw.toml:4:1: api `web`: cors: `allow_credentials = true` cannot be combined"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("`10.0.0.0/40` is not a CIDR range"),
        "{errors}"
    );
    assert!(errors.contains("`banana` is not a CIDR range"), "{errors}");
}
