//! Lambda authorizers (TOKEN with IAM policies on a REST API, REQUEST with simple responses on
//! an HTTP API): decisions, context propagation, the result cache on the manual clock, and
//! bypass attempts that must fail closed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// A TOKEN authorizer whose answer depends on the token.
struct TokenAuthorizer(Arc<AtomicUsize>);

#[async_trait]
impl Handler for TokenAuthorizer {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(event["type"], "TOKEN");
        let arn = event["methodArn"].as_str().unwrap_or("").to_owned();
        let base = arn.split("/GET/").next().unwrap_or("").to_owned();
        let policy = |effect: &str, resource: String| {
            json!({"principalId": "user-7", "policyDocument": {"Version": "2012-10-17",
                "Statement": [{"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}]},
                "context": {"tenant": "acme", "tier": 2}})
        };
        match event["authorizationToken"].as_str().unwrap_or("") {
            "allow-all" => Ok(policy("Allow", "arn:aws:execute-api:*".into())),
            "keyed" => {
                let mut p = policy("Allow", "*".into());
                p["usageIdentifierKey"] = json!(ALICE_KEY);
                Ok(p)
            }
            "allow-a" => Ok(policy("Allow", format!("{base}/GET/a"))),
            "deny" => Ok(policy("Deny", "*".into())),
            "garbage" => Ok(json!({"hello": "world"})),
            "crash" => Err(FunctionError::unhandled("Boom", "db down at 10.0.0.1")),
            _ => Err(FunctionError::unhandled("Error", "Unauthorized")),
        }
    }
}

/// A REQUEST authorizer answering the HTTP API simple format.
struct RequestAuthorizer(Arc<AtomicUsize>);

#[async_trait]
impl Handler for RequestAuthorizer {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let ok =
            event["headers"]["x-user"] == "alice" && event["queryStringParameters"]["k"] == "1";
        Ok(
            json!({"isAuthorized": ok, "context": {"user": event["headers"]["x-user"],
            "stage": event["stageVariables"]["env"]}}),
        )
    }
}

const ALICE_KEY: &str = "alice-key-0123456789abcdef";

const TOML: &str = r#"
[apis.metered]
type = "rest"
base_path = "/metered"
api_key_source = "AUTHORIZER"
[apis.metered.stages.dev]
[apis.metered.authorizers.tok]
type = "token"
function = "token_auth"
[[apis.metered.routes]]
route = "GET /x"
function = "echo"
authorizer = "tok"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{ api = "metered", stage = "dev" }]
[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]

[apis.rest]
type = "rest"
[apis.rest.stages.dev]
[apis.rest.authorizers.tok]
type = "token"
function = "token_auth"
identity_source = ["method.request.header.Authorization"]
[[apis.rest.routes]]
route = "GET /a"
function = "echo"
authorizer = "tok"
[[apis.rest.routes]]
route = "GET /b"
function = "echo"
authorizer = "tok"

[apis.web]
type = "http"
base_path = "/web"
[apis.web.stages.live.variables]
env = "prod"
[apis.web.authorizers.req]
type = "request"
function = "request_auth"
identity_source = ["$request.header.x-user", "$request.querystring.k"]
ttl = "0s"
[[apis.web.routes]]
route = "GET /me"
function = "echo"
authorizer = "req"
"#;

struct Setup {
    stack: TestStack,
    clock: Clock,
    token_calls: Arc<AtomicUsize>,
    request_calls: Arc<AtomicUsize>,
}

async fn start() -> Setup {
    let token_calls = Arc::new(AtomicUsize::new(0));
    let request_calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    registry.register("token_auth", TokenAuthorizer(token_calls.clone()));
    registry.register("request_auth", RequestAuthorizer(request_calls.clone()));
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
    Setup {
        stack,
        clock,
        token_calls,
        request_calls,
    }
}

#[tokio::test]
async fn token_authorizer_allows_and_passes_principal_and_context() {
    let s = start().await;
    let res = s
        .stack
        .request("GET", "/dev/a", &[("authorization", "allow-all")], "")
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let auth = &res.json()["requestContext"]["authorizer"];
    assert_eq!(auth["principalId"], "user-7");
    assert_eq!(auth["tenant"], "acme");
    assert_eq!(auth["tier"], 2);
}

#[tokio::test]
async fn results_are_cached_per_token_for_the_ttl() {
    let s = start().await;
    let stack = &s.stack;
    let call = |token: &'static str, path: &'static str| async move {
        stack
            .request("GET", path, &[("authorization", token)], "")
            .await
    };
    assert_eq!(call("allow-all", "/dev/a").await.status, 200);
    assert_eq!(call("allow-all", "/dev/b").await.status, 200);
    assert_eq!(
        s.token_calls.load(Ordering::SeqCst),
        1,
        "second call served from the cache"
    );
    s.clock.advance(Duration::from_secs(299));
    assert_eq!(call("allow-all", "/dev/a").await.status, 200);
    assert_eq!(s.token_calls.load(Ordering::SeqCst), 1);
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(call("allow-all", "/dev/a").await.status, 200);
    assert_eq!(
        s.token_calls.load(Ordering::SeqCst),
        2,
        "expired after 300 s"
    );
}

#[tokio::test]
async fn bypass_attempts_fail_closed() {
    let s = start().await;
    // Warm the cache with an Allow for one token and a route-limited policy for another.
    assert_eq!(
        s.stack
            .request("GET", "/dev/a", &[("authorization", "allow-all")], "")
            .await
            .status,
        200
    );
    assert_eq!(
        s.stack
            .request("GET", "/dev/a", &[("authorization", "allow-a")], "")
            .await
            .status,
        200
    );
    let table: &[(&str, Option<&str>, &str, u16, &str)] = &[
        ("no token", None, "/dev/a", 401, "Unauthorized"),
        ("empty token", Some(""), "/dev/a", 401, "Unauthorized"),
        (
            "authorizer says Unauthorized",
            Some("nobody"),
            "/dev/a",
            401,
            "Unauthorized",
        ),
        (
            "explicit Deny",
            Some("deny"),
            "/dev/a",
            403,
            "User is not authorized to access this resource",
        ),
        (
            "cached Allow reused with another token",
            Some("allow-all-2"),
            "/dev/a",
            401,
            "Unauthorized",
        ),
        (
            "policy for /a used on /b (cached)",
            Some("allow-a"),
            "/dev/b",
            403,
            "User is not authorized to access this resource",
        ),
        (
            "authorizer answers nonsense",
            Some("garbage"),
            "/dev/a",
            500,
            "Internal Server Error",
        ),
        (
            "authorizer crashes",
            Some("crash"),
            "/dev/a",
            500,
            "Internal Server Error",
        ),
    ];
    for (what, token, path, status, message) in table {
        let headers: Vec<(&str, &str)> = token.iter().map(|t| ("authorization", *t)).collect();
        let res = s.stack.request("GET", path, &headers, "").await;
        assert_eq!(res.status, *status, "{what}: {}", res.text());
        assert_eq!(res.json(), json!({"message": message}), "{what}");
        assert!(!res.text().contains("10.0.0.1"), "{what}: internals leaked");
    }
}

#[tokio::test]
async fn request_authorizer_with_simple_responses_and_no_cache() {
    let s = start().await;
    let ok = s
        .stack
        .request("GET", "/web/live/me?k=1", &[("x-user", "alice")], "")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let lambda = &ok.json()["requestContext"]["authorizer"]["lambda"];
    assert_eq!(lambda["user"], "alice");
    assert_eq!(lambda["stage"], "prod");
    assert_eq!(
        s.stack
            .request("GET", "/web/live/me?k=1", &[("x-user", "alice")], "")
            .await
            .status,
        200
    );
    assert_eq!(
        s.request_calls.load(Ordering::SeqCst),
        2,
        "ttl = 0s disables the cache"
    );

    let denied = s
        .stack
        .request("GET", "/web/live/me?k=1", &[("x-user", "mallory")], "")
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json(), json!({"message": "Forbidden"}));
    // A missing identity source is refused without invoking the authorizer.
    let before = s.request_calls.load(Ordering::SeqCst);
    let missing = s
        .stack
        .request("GET", "/web/live/me", &[("x-user", "alice")], "")
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(s.request_calls.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn lambda_authorizer_config_errors() {
    let mut registry = Registry::new();
    portico_functions::register_all(&mut registry);
    let bad = r#"
[apis.rest]
type = "rest"
[apis.rest.stages.dev]
[apis.rest.authorizers.tok]
type = "token"
function = "nope"
identity_source = ["method.request.header.A", "method.request.header.B"]
ttl = "2h"
[apis.rest.authorizers.req]
type = "request"
function = "echo"
identity_source = ["$context.whatever"]
[[apis.rest.routes]]
route = "GET /a"
function = "echo"
authorizer = "req"
authorization_scopes = ["x"]
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &registry)
        .expect_err("invalid")
        .to_string();
    for expected in [
        "function `nope` is neither declared",
        "exactly one identity source",
        "`ttl` is at most 3600s",
        "identity source `$context.whatever`",
        "`authorization_scopes` apply to JWT authorizers only",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
}

#[tokio::test]
async fn usage_identifier_key_supplies_the_api_key() {
    let s = start().await;
    let keyed = s
        .stack
        .request("GET", "/metered/dev/x", &[("authorization", "keyed")], "")
        .await;
    assert_eq!(keyed.status, 200, "{}", keyed.text());
    // Without a usageIdentifierKey the header is not a way in: the source is AUTHORIZER.
    let header_only = s
        .stack
        .request(
            "GET",
            "/metered/dev/x",
            &[("authorization", "allow-all"), ("x-api-key", ALICE_KEY)],
            "",
        )
        .await;
    assert_eq!(header_only.status, 403, "{}", header_only.text());
    assert_eq!(header_only.json(), json!({"message": "Forbidden"}));
}
