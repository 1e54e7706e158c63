//! TOKEN authorizers with `identity_validation_expression`: a token that does not match is
//! refused with 401 without invoking the authorizer; a bad regex is a config error.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Allows every token it is asked about, counting calls.
struct AllowAll(Arc<AtomicUsize>);

#[async_trait]
impl Handler for AllowAll {
    async fn call(&self, _event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(
            json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}}),
        )
    }
}

const TOML: &str = r#"
[apis.rest]
type = "rest"
[apis.rest.stages.dev]
[apis.rest.authorizers.tok]
type = "token"
function = "allow_all"
ttl = "0s"
identity_validation_expression = 'Bearer [A-Za-z0-9._-]+'
[[apis.rest.routes]]
route = "GET /a"
function = "echo"
authorizer = "tok"
"#;

fn registry(calls: &Arc<AtomicUsize>) -> Registry {
    let mut registry = common::shipped_registry();
    registry.register("allow_all", AllowAll(calls.clone()));
    registry
}

#[tokio::test]
async fn tokens_not_matching_the_expression_never_reach_the_authorizer() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = TestStack::start(&quiet(TOML), &registry(&calls)).await;
    let res = stack
        .request(
            "GET",
            "/dev/a",
            &[("authorization", "Bearer abc.DEF-1")],
            "",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The whole token must match: a prefix or suffix match is not enough.
    for token in [
        "abc",
        "Bearer ",
        "Bearer abc def",
        "xBearer abc",
        "Bearer abc\"",
        "Basic dXNlcjpwYXNz",
    ] {
        let res = stack
            .request("GET", "/dev/a", &[("authorization", token)], "")
            .await;
        assert_eq!(res.status, 401, "{token:?}: {}", res.text());
        assert_eq!(res.json(), json!({"message": "Unauthorized"}), "{token:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the authorizer was not invoked"
    );
}

#[test]
fn validation_expression_config_errors() {
    let calls = Arc::new(AtomicUsize::new(0));
    let bad = r#"
[apis.web]
type = "http"
[apis.web.authorizers.tok]
type = "token"
function = "allow_all"
identity_validation_expression = "Bearer (unclosed"
[apis.web.authorizers.req]
type = "request"
function = "allow_all"
identity_validation_expression = ".*"
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &registry(&calls))
        .expect_err("invalid")
        .to_string();
    for expected in [
        "gw.toml:7:34: api `web`: authorizer `tok`: `identity_validation_expression` is not a valid regex",
        "gw.toml:11:34: api `web`: authorizer `req`: `identity_validation_expression` applies to TOKEN authorizers only",
    ] {
        assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
    }
}
