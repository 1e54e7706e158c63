//! IAM authorizers over real HTTP: requests signed with SigV4 (in Rust, per AWS's
//! specification) reach the function with the signer's identity, and every tampering or
//! replay attempt fails closed with AWS's status and message.

mod common;
mod sigv4_support;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestResponse, TestStack};
use portico_runtime::Clock;
use sigv4_support::*;

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn toml() -> String {
    quiet(&format!(
        r#"
[server]
max_body_bytes = 1000

[apis.shop]
type = "http"

[apis.shop.authorizers.signed]
type = "iam"
{creds}

[[apis.shop.routes]]
route = "POST /orders"
function = "echo"
authorizer = "signed"

[[apis.shop.routes]]
route = "GET /orders"
function = "echo"
authorizer = "signed"

[[apis.shop.routes]]
route = "GET /admin"
function = "echo"
authorizer = "signed"

[[apis.shop.routes]]
route = "GET /open"
function = "echo"

[apis.legacy]
type = "rest"
base_path = "/legacy"
[apis.legacy.stages.dev]
[apis.legacy.authorizers.signed]
type = "iam"
{creds}
[[apis.legacy.routes]]
route = "GET /me"
function = "echo"
authorizer = "signed"
"#,
        creds = credentials_toml()
    ))
}

async fn start() -> (TestStack, Clock) {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    let stack = TestStack::start_with_clock(&toml(), &shipped_registry(), clock.clone()).await;
    (stack, clock)
}

async fn send(
    stack: &TestStack,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> TestResponse {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    stack
        .request(method, path_and_query, &headers, body.to_vec())
        .await
}

/// `message` may hold `{api}` where the generated API id goes.
fn assert_refused(res: &TestResponse, message: &str, error_type: &str, case: &str) {
    assert_eq!(res.status, 403, "{case}: {}", res.text());
    let got = res.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match message.split_once("{api}") {
        Some((before, after)) => assert!(
            got.starts_with(before) && got.ends_with(after) && got.len() > message.len(),
            "{case}: {got}"
        ),
        None => assert_eq!(got, message, "{case}"),
    }
    assert_eq!(res.header("x-amzn-errortype"), Some(error_type), "{case}");
}

#[tokio::test]
async fn a_signed_request_reaches_the_function_with_the_callers_identity() {
    let (stack, _clock) = start().await;
    let host = stack.addr.to_string();
    let body = br#"{"item":"book"}"#;
    let signed = ToSign::new("POST", "/orders", host, body);
    let res = send(&stack, "POST", "/orders", &signed.headers(), body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    let iam = &event["requestContext"]["authorizer"]["iam"];
    assert_eq!(iam["accessKey"], ALICE_KEY);
    assert_eq!(iam["accountId"], "111122223333");
    assert_eq!(iam["userArn"], ALICE_ARN);
    assert_eq!(iam["userId"], "AIDAALICE");
    assert_eq!(iam["callerId"], "AIDAALICE");
    assert_eq!(event["body"], r#"{"item":"book"}"#);
}

#[tokio::test]
async fn rest_apis_put_the_signer_in_request_context_identity() {
    let (stack, _clock) = start().await;
    let host = stack.addr.to_string();
    let mut signed = ToSign::new("GET", "/legacy/dev/me", host, b"");
    signed.key = BOB_KEY;
    signed.secret = BOB_SECRET;
    let res = send(&stack, "GET", "/legacy/dev/me", &signed.headers(), b"").await;
    // Bob may only call GET /orders.
    assert_refused(
        &res,
        &format!("User: {BOB_ARN} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:{{api}}/dev/GET/me"),
        "AccessDeniedException",
        "bob on /me",
    );
    let signed = ToSign::new("GET", "/legacy/dev/me", stack.addr.to_string(), b"");
    let res = send(&stack, "GET", "/legacy/dev/me", &signed.headers(), b"").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let identity = &res.json()["requestContext"]["identity"];
    assert_eq!(identity["accessKey"], ALICE_KEY);
    assert_eq!(identity["userArn"], ALICE_ARN);
    assert_eq!(identity["user"], "AIDAALICE");
    assert_eq!(identity["caller"], "AIDAALICE");
    assert_eq!(identity["accountId"], "111122223333");
}

#[tokio::test]
async fn query_strings_security_tokens_and_unsigned_payloads_are_accepted() {
    let (stack, _clock) = start().await;
    let host = stack.addr.to_string();
    let mut signed = ToSign::new("GET", "/orders", host.clone(), b"");
    signed.query = "a=1&b=x%20y";
    signed
        .headers
        .push(("x-amz-security-token", "session-token".into()));
    let res = send(&stack, "GET", "/orders?b=x%20y&a=1", &signed.headers(), b"").await;
    assert_eq!(res.status, 200, "{}", res.text());

    let mut signed = ToSign::new("POST", "/orders", host, b"");
    signed.payload_hash = Some("UNSIGNED-PAYLOAD");
    signed
        .headers
        .push(("x-amz-content-sha256", "UNSIGNED-PAYLOAD".into()));
    let res = send(&stack, "POST", "/orders", &signed.headers(), b"any body").await;
    assert_eq!(res.status, 200, "{}", res.text());
}

/// Every bypass attempt on an IAM route, each refused with AWS's status, message and type.
#[tokio::test]
async fn bypass_attempts_fail_closed() {
    let (stack, clock) = start().await;
    let host = stack.addr.to_string();
    let body: &[u8] = b"{\"n\":1}";
    let base = || ToSign::new("POST", "/orders", host.clone(), body);
    let with = |f: &dyn Fn(&mut ToSign)| {
        let mut s = base();
        f(&mut s);
        s.headers()
    };
    let replace = |mut headers: Vec<(String, String)>, name: &str, value: &str| {
        for h in headers.iter_mut().filter(|(k, _)| k == name) {
            h.1 = value.to_owned();
        }
        headers
    };
    const OTHER_BODY_HASH: &str =
        "a3f1c5d0e2b4968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f0";
    let signed_custom = with(&|s| s.headers.push(("x-custom", "a".into())));
    /// (case, path sent, headers sent, body sent, expected message, expected error type)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(String, String)>,
        &'a [u8],
        String,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "no Authorization header",
            "/orders",
            vec![("x-amz-date".into(), AMZ_DATE.into())],
            body,
            "Missing Authentication Token".into(),
            "MissingAuthenticationTokenException",
        ),
        (
            "a bearer token instead of a signature",
            "/orders",
            vec![("authorization".into(), "Bearer abc".into())],
            body,
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.".into(),
            "IncompleteSignatureException",
        ),
        (
            "unknown access key",
            "/orders",
            with(&|s| s.key = "AKIDNOBODY000000"),
            body,
            "The security token included in the request is invalid.".into(),
            "UnrecognizedClientException",
        ),
        (
            "wrong secret",
            "/orders",
            with(&|s| s.secret = "guess"),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "tampered body",
            "/orders",
            base().headers(),
            b"{\"n\":2}",
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "x-amz-content-sha256 of another body",
            "/orders",
            with(&|s| {
                s.payload_hash = Some(OTHER_BODY_HASH);
                s.headers
                    .push(("x-amz-content-sha256", OTHER_BODY_HASH.into()));
            }),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "tampered path",
            "/orders?x=1",
            base().headers(),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "tampered query",
            "/orders?a=2",
            with(&|s| s.query = "a=1"),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "signed header changed",
            "/orders",
            replace(signed_custom.clone(), "x-custom", "b"),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "signed header removed",
            "/orders",
            signed_custom
                .iter()
                .filter(|(k, _)| k != "x-custom")
                .cloned()
                .collect(),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "X-Amz-Date changed after signing",
            "/orders",
            replace(base().headers(), "x-amz-date", "20260102T030406Z"),
            body,
            MISMATCH.into(),
            "InvalidSignatureException",
        ),
        (
            "wrong region in the scope",
            "/orders",
            with(&|s| s.region = "eu-west-1"),
            body,
            "Credential should be scoped to a valid region.".into(),
            "InvalidSignatureException",
        ),
        (
            "wrong service in the scope",
            "/orders",
            with(&|s| s.service = "s3"),
            body,
            "Credential should be scoped to correct service: 'execute-api'.".into(),
            "InvalidSignatureException",
        ),
        (
            "host not signed",
            "/orders",
            with(&|s| s.headers.retain(|(k, _)| *k != "host")),
            body,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            "InvalidSignatureException",
        ),
        (
            "signed in the future",
            "/orders",
            with(&|s| {
                s.amz_date = "20260102T031006Z";
                s.headers.retain(|(k, _)| *k != "x-amz-date");
                s.headers.push(("x-amz-date", "20260102T031006Z".into()));
            }),
            body,
            "Signature not yet current: 20260102T031006Z is still later than 20260102T030905Z (20260102T030405Z + 5 min.)".into(),
            "InvalidSignatureException",
        ),
        (
            "bob signs a route he may not call",
            "/orders",
            with(&|s| {
                s.key = BOB_KEY;
                s.secret = BOB_SECRET;
            }),
            body,
            format!("User: {BOB_ARN} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:{{api}}/$default/POST/orders"),
            "AccessDeniedException",
        ),
    ];
    for (case, path, headers, sent_body, message, error_type) in &cases {
        let res = send(&stack, "POST", path, headers, sent_body).await;
        assert_refused(&res, message, error_type, case);
    }
    // A header outside SignedHeaders may change freely.
    let res = send(
        &stack,
        "POST",
        "/orders",
        &[
            base().headers(),
            vec![("x-unsigned".into(), "anything".into())],
        ]
        .concat(),
        body,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    // Replay: the same valid request 5 min 1 s later is expired.
    let valid = base().headers();
    assert_eq!(
        send(&stack, "POST", "/orders", &valid, body).await.status,
        200
    );
    clock.advance(Duration::from_secs(301));
    let res = send(&stack, "POST", "/orders", &valid, body).await;
    assert_refused(
        &res,
        "Signature expired: 20260102T030405Z is now earlier than 20260102T030406Z (20260102T030906Z - 5 min.)",
        "InvalidSignatureException",
        "replay after 5 minutes",
    );
}

#[tokio::test]
async fn the_body_limit_holds_on_iam_routes() {
    let (stack, _clock) = start().await;
    let big = vec![b'x'; 2000];
    let signed = ToSign::new("POST", "/orders", stack.addr.to_string(), &big);
    let res = send(&stack, "POST", "/orders", &signed.headers(), &big).await;
    assert_eq!(res.status, 413, "{}", res.text());
    // Open routes are untouched.
    assert_eq!(stack.get("/open").await.status, 200);
}

#[tokio::test]
async fn iam_config_errors_are_reported_with_their_place() {
    let registry = shipped_registry();
    let bad = r#"
[apis.web]
type = "http"
[apis.web.authorizers.none]
type = "iam"
[apis.web.authorizers.bad]
type = "iam"
issuer = "x"
credentials = [
  { access_key_id = "AK-1", secret_access_key = "", principal = "alice", routes = [] },
  { access_key_id = "AK2", secret_access_key = "s", principal = "arn:aws:iam::111122223333:user/a", routes = ["*"] },
  { access_key_id = "AK2", secret_access_key = "s", principal = "arn:aws:iam::111122223333:user/a", routes = ["*"] },
]
[[apis.web.routes]]
route = "GET /x"
function = "echo"
authorizer = "bad"
authorization_scopes = ["a"]
"#;
    let errors = portico_runtime::config::Config::from_toml(bad, "gw.toml", &registry)
        .expect_err("invalid")
        .to_string();
    for expected in [
        "gw.toml:4:1: api `web`: authorizer `none`: an IAM authorizer needs `credentials",
        "gw.toml:6:1: api `web`: authorizer `bad`: an IAM authorizer takes only `credentials`",
        "gw.toml:10:3: api `web`: authorizer `bad`: `access_key_id = \"AK-1\"` must be letters and digits",
        "gw.toml:10:3: api `web`: authorizer `bad`: key `AK-1`: `secret_access_key` is empty",
        "gw.toml:10:3: api `web`: authorizer `bad`: key `AK-1`: `principal = \"alice\"` is not an IAM ARN",
        "gw.toml:10:3: api `web`: authorizer `bad`: key `AK-1`: `routes` needs at least one",
        "gw.toml:12:3: api `web`: authorizer `bad`: access key `AK2` is declared twice",
        "`authorization_scopes` apply to JWT authorizers only",
    ] {
        assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
    }
}

/// An IAM route in front of an HTTP proxy integration: the body read to check the signature
/// is the body forwarded upstream.
#[tokio::test]
async fn an_iam_route_forwards_the_signed_body_to_an_http_upstream() {
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::post(|body: String| async move { format!("upstream got {body}") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let target = format!("http = \"http://{upstream}/echo\"");
    let (stack, _clock) = start_iam_route("POST /orders-proxied", &target).await;
    let body = b"{\"n\":7}";
    let signed = ToSign::new("POST", "/orders-proxied", stack.addr.to_string(), body);
    let res = send(&stack, "POST", "/orders-proxied", &signed.headers(), body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.text(), "upstream got {\"n\":7}");
    let res = send(
        &stack,
        "POST",
        "/orders-proxied",
        &signed.headers(),
        b"{\"n\":8}",
    )
    .await;
    assert_refused(&res, MISMATCH, "InvalidSignatureException", "tampered body");
}
