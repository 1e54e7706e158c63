//! Custom domain names and base path mappings over real HTTP: the Host header picks the
//! domain, the first path segments pick the API stage, and routes match the path without the
//! base path. The events carry the path as AWS documents it for API mappings: payload 2.0's
//! `rawPath` without the base path, payload 1.0's `path` with it (`resource` without).
//! Unmapped base paths get AWS's 403.

mod common;

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Config;

const TOML: &str = r#"
[logs]
stdout = true

[apis.orders_v1]
type = "rest"
base_path = "/orders-v1"
[apis.orders_v1.stages.prod.variables]
version = "one"
[[apis.orders_v1.routes]]
route = "GET /items/{id}"
function = "echo"

[apis.orders_v2]
type = "http"
base_path = "/orders-v2"
[apis.orders_v2.stages.prod]
[[apis.orders_v2.routes]]
route = "GET /items/{id}"
function = "echo"

[apis.home]
type = "rest"
base_path = "/home"
[apis.home.stages.live]
[[apis.home.routes]]
route = "GET /"
function = "echo"

[domains."api.example.com"]
mappings = { "v1" = "orders_v1:prod", "v2" = "orders_v2:prod", "(none)" = "home:live" }

[domains."shop.example.com"]
mappings = { "store/orders" = "orders_v1:prod" }
"#;

async fn start() -> TestStack {
    TestStack::start(&quiet(TOML), &shipped_registry()).await
}

#[tokio::test]
async fn base_path_routes_to_the_mapped_rest_stage() {
    let stack = start().await;
    let res = stack
        .request("GET", "/v1/items/7", &[("host", "api.example.com")], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    assert_eq!(event["path"], "/v1/items/7");
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["pathParameters"]["id"], "7");
    assert_eq!(event["stageVariables"]["version"], "one");
    assert_eq!(event["requestContext"]["stage"], "prod");
    assert_eq!(event["requestContext"]["domainName"], "api.example.com");
    assert_eq!(event["requestContext"]["domainPrefix"], "api");
}

#[tokio::test]
async fn second_base_path_routes_to_another_api_with_payload_v2() {
    let stack = start().await;
    let res = stack
        .request("GET", "/v2/items/9", &[("host", "API.Example.com:443")], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["pathParameters"]["id"], "9");
    assert_eq!(event["requestContext"]["stage"], "prod");
    assert_eq!(event["rawPath"], "/items/9");
    assert_eq!(event["routeKey"], "GET /items/{id}");
}

#[tokio::test]
async fn the_none_mapping_serves_the_domain_root() {
    let stack = start().await;
    let res = stack
        .request("GET", "/", &[("host", "api.example.com")], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["requestContext"]["stage"], "live");
}

#[tokio::test]
async fn multi_segment_base_path_is_matched_whole() {
    let stack = start().await;
    let res = stack
        .request(
            "GET",
            "/store/orders/items/3",
            &[("host", "shop.example.com")],
            "",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["path"], "/store/orders/items/3");
    assert_eq!(res.json()["resource"], "/items/{id}");
    // A base path is whole segments: `/store/ordersx` is not `/store/orders`.
    let res = stack
        .request(
            "GET",
            "/store/ordersx/items/3",
            &[("host", "shop.example.com")],
            "",
        )
        .await;
    assert_eq!(res.status, 403);
}

#[tokio::test]
async fn unmapped_base_path_of_a_domain_is_forbidden() {
    let stack = start().await;
    let res = stack
        .request("GET", "/v3/items/1", &[("host", "shop.example.com")], "")
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), serde_json::json!({"message": "Forbidden"}));
    assert_eq!(res.header("x-amzn-errortype"), Some("ForbiddenException"));
}

#[tokio::test]
async fn other_hosts_keep_path_routing() {
    let stack = start().await;
    let res = stack
        .request(
            "GET",
            "/orders-v1/prod/items/5",
            &[("host", "localhost")],
            "",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["path"], "/items/5");
    // The custom domain's base path means nothing on another host.
    let res = stack.get("/v1/items/5").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["message"], "Missing Authentication Token");
}

fn errors(toml: &str) -> String {
    match Config::from_toml(toml, "gateway.toml", &shipped_registry()) {
        Ok(_) => panic!("config should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_mappings_are_config_errors_with_their_place() {
    let toml = r#"
[apis.a]
type = "rest"
[apis.a.stages.prod]
[[apis.a.routes]]
route = "GET /x"
function = "echo"

[domains."api.example.com"]
mappings = { "v1" = "missing:prod", "v2" = "a:dev", "v3" = "a", "v{4}" = "a:prod" }

[domains."bad host!"]
mappings = { "v1" = "a:prod" }

[domains."empty.example.com"]
mappings = {}

[domains."Twice.example.com"]
mappings = { "v1" = "a:prod" }
[domains."twice.example.com"]
mappings = { "v1" = "a:prod" }
"#;
    let text = errors(toml);
    assert!(text.contains("gateway.toml:10:"), "{text}");
    assert!(
        text.contains("names API `missing`, which is not defined"),
        "{text}"
    );
    assert!(
        text.contains("names stage `dev`, which API `a` does not have"),
        "{text}"
    );
    assert!(text.contains("must name an API and a stage"), "{text}");
    assert!(text.contains("base path `v{4}` must be"), "{text}");
    assert!(
        text.contains("domain `bad host!` is not a host name"),
        "{text}"
    );
    assert!(
        text.contains("domain `empty.example.com`: `mappings` is empty"),
        "{text}"
    );
    assert!(
        text.contains("domain `twice.example.com` is declared twice"),
        "{text}"
    );
}
