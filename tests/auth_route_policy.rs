//! Per-route resource policies: allow / deny by source range on one route, deny wins, and
//! the API's policy applies too. Tests connect from 127.0.0.1.

mod common;

use common::{quiet, shipped_registry, TestStack};
use serde_json::json;

const TOML: &str = r#"
[apis.shop]
type = "http"
[apis.shop.resource_policy]
allow_source_ips = ["127.0.0.0/8", "::1"]

[[apis.shop.routes]]
route = "GET /private"
function = "echo"
resource_policy = { allow_source_ips = ["10.0.0.0/8"] }

[[apis.shop.routes]]
route = "GET /blocked/{id}"
function = "echo"
resource_policy = { allow_source_ips = ["127.0.0.0/8"], deny_source_ips = ["127.0.0.1"] }

[[apis.shop.routes]]
route = "GET /local"
function = "echo"
resource_policy = { allow_source_ips = ["127.0.0.1/32"] }

[[apis.shop.routes]]
route = "GET /public"
function = "echo"

[apis.closed]
type = "http"
base_path = "/closed"
[apis.closed.resource_policy]
deny_source_ips = ["127.0.0.0/8"]
[[apis.closed.routes]]
route = "GET /x"
function = "echo"
resource_policy = { allow_source_ips = ["127.0.0.1"] }
"#;

const DENIED: &str = "User: anonymous is not authorized to perform: execute-api:Invoke";

#[tokio::test]
async fn route_policies_allow_and_deny_and_the_api_policy_still_applies() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    assert_eq!(stack.get("/local").await.status, 200);
    assert_eq!(stack.get("/public").await.status, 200);
    for path in ["/private", "/blocked/1", "/closed/x"] {
        let res = stack.get(path).await;
        assert_eq!(res.status, 403, "{path}: {}", res.text());
        assert_eq!(res.json(), json!({"message": DENIED}), "{path}");
        assert_eq!(
            res.header("x-amzn-errortype"),
            Some("AccessDeniedException")
        );
    }
}

/// Attempts to reach a policy-protected route's function anyway; none may answer 200 from it.
#[tokio::test]
async fn a_policy_for_one_route_is_not_escaped_through_another() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "spoofed X-Forwarded-For",
            "/private",
            &[("x-forwarded-for", "10.0.0.1")],
        ),
        (
            "spoofed X-Real-IP",
            "/private",
            &[("x-real-ip", "10.1.2.3")],
        ),
        ("trailing slash", "/private/", &[]),
        ("double slash", "//private", &[]),
        ("percent-encoded path", "/%70rivate", &[]),
        ("case change", "/PRIVATE", &[]),
        ("dot segment via an open route", "/public/../private", &[]),
        ("query string", "/private?route=public", &[]),
        ("other id on the denied route", "/blocked/2", &[]),
    ];
    for (case, path, headers) in cases {
        let res = stack.request("GET", path, headers, "").await;
        if res.status == 200 {
            // Only an open route may answer, never the protected one.
            let route_key = res.json()["routeKey"].clone();
            assert_eq!(route_key, "GET /public", "{case}: reached {route_key}");
        } else {
            assert!(
                matches!(res.status, 403 | 404),
                "{case}: {} {}",
                res.status,
                res.text()
            );
        }
    }
    // HEAD and other methods do not take the GET route's place.
    let res = stack.request("POST", "/private", &[], "").await;
    assert_ne!(res.status, 200, "POST /private");
}

#[test]
fn route_policy_config_errors() {
    let bad = r#"
[apis.web]
type = "http"
[[apis.web.routes]]
route = "GET /x"
function = "echo"
resource_policy = { allow_source_ips = ["10.0.0.0/33"], deny = ["1.2.3.4"] }
[[apis.web.routes]]
route = "GET /y"
function = "echo"
resource_policy = { deny_source_ips = ["not-an-ip"] }
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &shipped_registry())
        .expect_err("invalid")
        .to_string();
    assert!(errors.contains("gw.toml:7:"), "{errors}");
    assert!(errors.contains("unknown field `deny`"), "{errors}");
    let good_types = bad.replace(", deny = [\"1.2.3.4\"]", "");
    let errors =
        portico_runtime::config::Config::from_toml(&good_types, "gw.toml", &shipped_registry())
            .expect_err("invalid")
            .to_string();
    for expected in [
        "gw.toml:7:40: api `web`: route `GET /x`: resource_policy: `10.0.0.0/33` is not a CIDR range",
        "gw.toml:11:39: api `web`: route `GET /y`: resource_policy: `not-an-ip` is not a CIDR range",
    ] {
        assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
    }
}
