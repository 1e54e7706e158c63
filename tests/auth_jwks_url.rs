//! JWT authorizers with `jwks_url`: the keys come from a JWKS server the test runs on port 0,
//! are cached, refetched when a token names an unknown `kid` (at most once per 30 s of Clock
//! time), and a failing fetch is a 401.

mod auth_support;
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use auth_support::*;
use axum::extract::State;
use axum::http::StatusCode;
use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;

const OTHER_JWKS: &str = include_str!("fixtures/auth/other.jwks.json");

/// A JWKS server: serves `document` (or 500 when `None`) and counts fetches.
#[derive(Clone, Default)]
struct JwksServer {
    document: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(document: Option<String>) -> (JwksServer, String) {
        let server = JwksServer::default();
        server.set(document);
        let app = axum::Router::new()
            .route(
                "/.well-known/jwks.json",
                axum::routing::get(|State(s): State<JwksServer>| async move {
                    s.fetches.fetch_add(1, Ordering::SeqCst);
                    match s.document.lock().expect("lock").clone() {
                        Some(doc) => (StatusCode::OK, doc),
                        None => (StatusCode::INTERNAL_SERVER_ERROR, "down".to_owned()),
                    }
                }),
            )
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("addr")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (server, url)
    }

    fn set(&self, document: Option<String>) {
        *self.document.lock().expect("lock") = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn toml(url: &str) -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "http"
[apis.shop.authorizers.users]
type = "jwt"
issuer = "{ISSUER}"
audiences = ["{AUDIENCE}"]
jwks_url = "{url}"
[[apis.shop.routes]]
route = "GET /orders"
function = "echo"
authorizer = "users"
"#
    ))
}

async fn start(url: &str) -> (TestStack, Clock) {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    let stack = TestStack::start_with_clock(&toml(url), &shipped_registry(), clock.clone()).await;
    (stack, clock)
}

async fn call(stack: &TestStack, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    let res = stack
        .request("GET", "/orders", &[("authorization", &bearer)], "")
        .await;
    if res.status != 200 {
        assert_eq!(res.json()["message"], "Unauthorized", "{}", res.text());
    }
    res.status
}

#[tokio::test]
async fn keys_are_fetched_cached_and_refetched_on_rotation_with_a_rate_limit() {
    let first = std::fs::read_to_string(JWKS).expect("fixture");
    let (server, url) = JwksServer::start(Some(first)).await;
    let (stack, clock) = start(&url).await;
    assert_eq!(
        server.fetches(),
        0,
        "nothing is fetched before a token arrives"
    );

    assert_eq!(call(&stack, &sign(&claims())).await, 200);
    let other_claims = with(claims(), "sub", "user-2".into());
    assert_eq!(call(&stack, &sign(&other_claims)).await, 200);
    assert_eq!(server.fetches(), 1, "the JWKS is cached");

    // The issuer rotates to k2: a k2 token triggers one refetch and passes.
    server.set(Some(OTHER_JWKS.to_owned()));
    clock.advance(Duration::from_secs(30));
    let k2 = sign_with(&claims(), OTHER_KEY, "k2");
    assert_eq!(call(&stack, &k2).await, 200);
    assert_eq!(server.fetches(), 2);

    // Made-up kids within 30 s of the last fetch do not reach the issuer.
    for i in 0..10 {
        let forged = sign_with(&with(claims(), "n", i.into()), OTHER_KEY, &format!("k{i}x"));
        assert_eq!(call(&stack, &forged).await, 401);
    }
    // A k1 token (key rotated out) is refused too, still without a fetch.
    assert_eq!(
        call(&stack, &sign(&with(claims(), "n", 99.into()))).await,
        401
    );
    assert_eq!(server.fetches(), 2, "refetches are rate-limited");

    clock.advance(Duration::from_secs(31));
    let forged = sign_with(&claims(), OTHER_KEY, "k9");
    assert_eq!(call(&stack, &forged).await, 401);
    assert_eq!(server.fetches(), 3, "one refetch once 30 s have passed");
    assert_eq!(call(&stack, &forged).await, 401);
    assert_eq!(server.fetches(), 3);
    // k2 tokens keep working from the cache.
    let k2_again = sign_with(&with(claims(), "sub", "user-3".into()), OTHER_KEY, "k2");
    assert_eq!(call(&stack, &k2_again).await, 200);
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn fetch_failures_are_401_and_recover_after_the_interval() {
    let (server, url) = JwksServer::start(None).await;
    let (stack, clock) = start(&url).await;
    assert_eq!(call(&stack, &sign(&claims())).await, 401);
    assert_eq!(server.fetches(), 1);
    // A garbage document is a failure too; and the limit holds in between.
    server.set(Some("{\"keys\": 7}".into()));
    assert_eq!(call(&stack, &sign(&claims())).await, 401);
    assert_eq!(server.fetches(), 1);
    clock.advance(Duration::from_secs(30));
    assert_eq!(call(&stack, &sign(&claims())).await, 401);
    assert_eq!(server.fetches(), 2);
    server.set(Some(std::fs::read_to_string(JWKS).expect("fixture")));
    clock.advance(Duration::from_secs(30));
    assert_eq!(call(&stack, &sign(&claims())).await, 200);
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_jwks_url_is_401() {
    // A port nothing listens on: bind, read the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (stack, _clock) = start(&format!("http://127.0.0.1:{port}/jwks.json")).await;
    assert_eq!(call(&stack, &sign(&claims())).await, 401);
}

#[test]
fn jwks_url_config_errors() {
    let bad = format!(
        r#"[apis.web.authorizers.tls]
type = "jwt"
issuer = "i"
audiences = ["a"]
jwks_url = "ftp://issuer.example.com/jwks.json"
[apis.web.authorizers.both]
type = "jwt"
issuer = "i"
audiences = ["a"]
jwks_file = "{JWKS}"
jwks_url = "http://127.0.0.1:1/jwks.json"
[apis.web.authorizers.lambda]
type = "token"
function = "echo"
jwks_url = "http://127.0.0.1:1/jwks.json"
"#
    );
    assert_authorizer_config_errors(
        &bad,
        &[
            "gw.toml:8:12: api `web`: authorizer `tls`: `jwks_url = \"ftp://issuer.example.com/jwks.json\"` must be an http:// or https:// URL",
            "gw.toml:14:12: api `web`: authorizer `both`: give `jwks_file` or `jwks_url`, not both",
            "api `web`: authorizer `lambda`: `issuer`, `audiences`, `jwks_file`, `jwks_url` and `jwks_ca_file` apply to JWT authorizers only",
        ],
    );
}
