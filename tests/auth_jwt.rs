//! JWT authorizers over real HTTP: valid tokens reach the function with their claims, and every
//! bypass attempt fails closed with AWS's status and body.

mod auth_support;
mod common;

use std::time::{Duration, UNIX_EPOCH};

use auth_support::*;
use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;
use serde_json::json;

fn toml() -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "http"

[apis.shop.authorizers.users]
type = "jwt"
issuer = "{ISSUER}"
audiences = ["{AUDIENCE}", "other-client"]
jwks_file = "{JWKS}"

[[apis.shop.routes]]
route = "GET /orders"
function = "echo"
authorizer = "users"
authorization_scopes = ["orders:read", "orders:admin"]

[[apis.shop.routes]]
route = "GET /admin"
function = "echo"
authorizer = "users"
authorization_scopes = ["orders:admin"]

[[apis.shop.routes]]
route = "GET /open"
function = "echo"

[apis.legacy]
type = "rest"
base_path = "/legacy"
[apis.legacy.stages.dev]
[apis.legacy.authorizers.cognito]
type = "jwt"
issuer = "{ISSUER}"
audiences = ["{AUDIENCE}"]
jwks_file = "{JWKS}"
identity_source = ["method.request.header.Authorization"]
[[apis.legacy.routes]]
route = "GET /me"
function = "echo"
authorizer = "cognito"
"#
    ))
}

async fn start() -> (TestStack, Clock) {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    let stack = TestStack::start_with_clock(&toml(), &shipped_registry(), clock.clone()).await;
    (stack, clock)
}

#[tokio::test]
async fn a_valid_token_reaches_the_function_with_claims_and_scopes() {
    let (stack, _clock) = start().await;
    let token = sign(&claims());
    let bearer = format!("Bearer {token}");
    let res = stack
        .request("GET", "/orders", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["sub"], "user-1");
    assert_eq!(jwt["claims"]["email"], "a@example.com");
    assert_eq!(jwt["claims"]["aud"], AUDIENCE);
    assert_eq!(jwt["scopes"], json!(["orders:read", "profile"]));

    // A bare token (no `Bearer `) is accepted as API Gateway does.
    let res = stack
        .request("GET", "/orders", &[("authorization", &token)], "")
        .await;
    assert_eq!(res.status, 200);

    // REST API (Cognito-style): claims under requestContext.authorizer.claims.
    let res = stack
        .request("GET", "/legacy/dev/me", &[("authorization", &token)], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["requestContext"]["authorizer"]["claims"]["sub"],
        "user-1"
    );

    // The open route needs nothing.
    assert_eq!(stack.get("/open").await.status, 200);
}

#[tokio::test]
async fn bypass_attempts_fail_closed() {
    let (stack, _clock) = start().await;
    let c = claims();
    // Warm the verified-token cache: tampered copies of a cached token must still fail.
    let warm = format!("Bearer {}", sign(&c));
    let res = stack
        .request("GET", "/orders", &[("authorization", &warm)], "")
        .await;
    assert_eq!(res.status, 200);
    let table: Vec<(&str, Option<String>, &str, u16)> = vec![
        ("no token", None, "/orders", 401),
        ("empty token", Some(String::new()), "/orders", 401),
        ("garbage", Some("not.a.jwt".into()), "/orders", 401),
        ("alg none", Some(unsigned(&c)), "/orders", 401),
        (
            "HS256 with the public key",
            Some(hs_with_public_key(&c)),
            "/orders",
            401,
        ),
        (
            "signed by another key",
            Some(sign_with(&c, OTHER_KEY, "k1")),
            "/orders",
            401,
        ),
        (
            "unknown kid",
            Some(sign_with(&c, KEY, "k2")),
            "/orders",
            401,
        ),
        (
            "expired",
            Some(sign(&with(c.clone(), "exp", json!(NOW - 1)))),
            "/orders",
            401,
        ),
        (
            "no exp",
            Some(sign(&{
                let mut x = c.clone();
                x.as_object_mut().unwrap().remove("exp");
                x
            })),
            "/orders",
            401,
        ),
        (
            "not yet valid",
            Some(sign(&with(c.clone(), "nbf", json!(NOW + 60)))),
            "/orders",
            401,
        ),
        (
            "issued in the future",
            Some(sign(&with(c.clone(), "iat", json!(NOW + 60)))),
            "/orders",
            401,
        ),
        (
            "wrong issuer",
            Some(sign(&with(
                c.clone(),
                "iss",
                json!("https://evil.example.com"),
            ))),
            "/orders",
            401,
        ),
        (
            "wrong audience",
            Some(sign(&with(c.clone(), "aud", json!("someone-else")))),
            "/orders",
            401,
        ),
        (
            "tampered sub",
            Some(tampered(&c, &with(c.clone(), "sub", json!("admin")))),
            "/orders",
            401,
        ),
        (
            "tampered scope",
            Some(tampered(
                &c,
                &with(c.clone(), "scope", json!("orders:admin")),
            )),
            "/admin",
            401,
        ),
        ("insufficient scope", Some(sign(&c)), "/admin", 403),
        (
            "no scope at all",
            Some(sign(&with(c.clone(), "scope", json!("")))),
            "/orders",
            403,
        ),
    ];
    for (what, token, path, status) in table {
        let header = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("authorization", h.as_str()))
            .collect();
        let res = stack.request("GET", path, &headers, "").await;
        assert_eq!(res.status, status, "{what}: {}", res.text());
        let message = if status == 401 {
            "Unauthorized"
        } else {
            "Forbidden"
        };
        assert_eq!(res.json(), json!({"message": message}), "{what}");
    }
}

#[tokio::test]
async fn a_token_expires_on_the_gateway_clock() {
    let (stack, clock) = start().await;
    let token = format!("Bearer {}", sign(&claims()));
    let headers = [("authorization", token.as_str())];
    let call = || stack.request("GET", "/orders", &headers, "");
    assert_eq!(call().await.status, 200);
    clock.advance(Duration::from_secs(3599));
    assert_eq!(call().await.status, 200);
    clock.advance(Duration::from_secs(1));
    let res = call().await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("UnauthorizedException")
    );
}

#[tokio::test]
async fn jwt_config_errors_are_reported_with_their_place() {
    let registry = shipped_registry();
    let bad = r#"
[apis.shop]
type = "http"
[apis.shop.authorizers.a]
type = "jwt"
audiences = []
jwks_file = "/nonexistent/jwks.json"
[apis.shop.authorizers.b]
type = "magic"
[[apis.shop.routes]]
route = "GET /x"
function = "echo"
authorizer = "missing"
[[apis.shop.routes]]
route = "GET /y"
function = "echo"
authorization_scopes = ["s"]
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &registry)
        .expect_err("invalid")
        .to_string();
    for expected in [
        "needs `issuer`",
        "needs `audiences",
        "/nonexistent/jwks.json",
        "`type = \"magic\"`",
        "authorizer `missing`, which is not declared",
        "`authorization_scopes` needs an `authorizer`",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
    assert!(
        errors.lines().all(|l| l.starts_with("gw.toml:")),
        "{errors}"
    );
    assert!(errors.contains("gw.toml:13:14"), "{errors}");
}
