//! JWT authorizers find their keys the way API Gateway's do: through the issuer's OpenID
//! discovery document when no `jwks_url` is given, and over HTTPS (trusting the system's CAs
//! and a `jwks_ca_file`). The issuer runs in the test on port 0, over TLS with a self-signed
//! certificate where HTTPS is under test.

mod auth_support;
mod common;
mod tls_support;
mod upstream_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use auth_support::*;
use bytes::Bytes;
use common::{quiet, shipped_registry, TestStack};
use http_body_util::Full;
use portico_runtime::Clock;
use tls_support::Certificate;

/// An issuer serving documents by path (404 otherwise), over HTTP or HTTPS, counting requests.
#[derive(Clone, Default)]
struct Issuer {
    documents: Arc<Mutex<HashMap<String, String>>>,
    requests: Arc<AtomicUsize>,
}

impl Issuer {
    /// Starts the issuer; with `tls` (certificate PEM, key PEM) it speaks HTTPS. Returns its
    /// base URL.
    async fn start(&self, tls: Option<(&str, &str)>, host: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = tls.map(|(cert, key)| tls_support::acceptor(cert, key));
        let issuer = self.clone();
        upstream_support::serve(listener, acceptor, move |req, _| {
            let answer = issuer.answer(req.uri().path());
            async move { answer }
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{host}:{port}")
    }

    fn answer(&self, path: &str) -> hyper::Response<Full<Bytes>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let found = self.documents.lock().expect("lock").get(path).cloned();
        let (status, body) = match found {
            Some(doc) => (200, doc),
            None => (404, "not found".to_owned()),
        };
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    }

    fn serve(&self, path: &str, document: String) {
        self.documents
            .lock()
            .expect("lock")
            .insert(path.to_owned(), document);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn toml(authorizer: &str) -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "http"
[apis.shop.authorizers.users]
type = "jwt"
audiences = ["{AUDIENCE}"]
{authorizer}
[[apis.shop.routes]]
route = "GET /orders"
function = "echo"
authorizer = "users"
"#
    ))
}

async fn start(authorizer: &str) -> TestStack {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    TestStack::start_with_clock(&toml(authorizer), &shipped_registry(), clock).await
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

fn jwks() -> String {
    std::fs::read_to_string(JWKS).expect("fixture")
}

#[tokio::test]
async fn keys_are_found_through_the_issuers_discovery_document() {
    let issuer = Issuer::default();
    let base = issuer.start(None, "127.0.0.1").await;
    issuer.serve(
        "/tenant/.well-known/openid-configuration",
        serde_json::json!({"issuer": format!("{base}/tenant"), "jwks_uri": format!("{base}/keys/set.json")})
            .to_string(),
    );
    issuer.serve("/keys/set.json", jwks());
    let iss = format!("{base}/tenant");
    let stack = start(&format!("issuer = \"{iss}/\"")).await;
    assert_eq!(
        issuer.requests(),
        0,
        "nothing is fetched before a token arrives"
    );

    let token = sign(&with(claims(), "iss", format!("{iss}/").into()));
    assert_eq!(call(&stack, &token).await, 200);
    assert_eq!(
        issuer.requests(),
        2,
        "the discovery document, then the JWKS"
    );
    assert_eq!(call(&stack, &token).await, 200);
    assert_eq!(issuer.requests(), 2, "the keys are cached");
    // A token from another issuer is still refused with the discovered keys.
    assert_eq!(call(&stack, &sign(&claims())).await, 401);
}

#[tokio::test]
async fn a_discovery_document_without_jwks_uri_or_unreachable_keys_is_401() {
    let issuer = Issuer::default();
    let base = issuer.start(None, "127.0.0.1").await;
    issuer.serve(
        "/.well-known/openid-configuration",
        serde_json::json!({"issuer": base}).to_string(),
    );
    let stack = start(&format!("issuer = \"{base}\"")).await;
    let token = sign(&with(claims(), "iss", base.clone().into()));
    assert_eq!(call(&stack, &token).await, 401);

    let issuer = Issuer::default();
    let base = issuer.start(None, "127.0.0.1").await;
    issuer.serve(
        "/.well-known/openid-configuration",
        serde_json::json!({"jwks_uri": format!("{base}/missing.json")}).to_string(),
    );
    let stack = start(&format!("issuer = \"{base}\"")).await;
    let token = sign(&with(claims(), "iss", base.clone().into()));
    assert_eq!(call(&stack, &token).await, 401);
    assert_eq!(issuer.requests(), 2);
}

#[tokio::test]
async fn https_jwks_urls_trust_the_jwks_ca_file_and_nothing_self_signed_besides() {
    let cert = Certificate::new("https");
    let issuer = Issuer::default();
    let base = issuer
        .start(Some((&cert.cert_pem, &cert.key_pem)), "localhost")
        .await;
    issuer.serve("/jwks.json", jwks());

    let trusted = start(&format!(
        "issuer = \"{ISSUER}\"\njwks_url = \"{base}/jwks.json\"\njwks_ca_file = \"{}\"",
        cert.ca_file()
    ))
    .await;
    assert_eq!(call(&trusted, &sign(&claims())).await, 200);
    assert_eq!(issuer.requests(), 1);

    // Without the CA the self-signed certificate is refused: no keys, 401, and the issuer
    // never sees a request (the handshake fails first).
    let untrusted = start(&format!(
        "issuer = \"{ISSUER}\"\njwks_url = \"{base}/jwks.json\""
    ))
    .await;
    assert_eq!(call(&untrusted, &sign(&claims())).await, 401);
    assert_eq!(issuer.requests(), 1);
}

#[tokio::test]
async fn discovery_over_https_follows_jwks_uri() {
    let cert = Certificate::new("discovery");
    let issuer = Issuer::default();
    let base = issuer
        .start(Some((&cert.cert_pem, &cert.key_pem)), "localhost")
        .await;
    issuer.serve(
        "/.well-known/openid-configuration",
        serde_json::json!({"jwks_uri": format!("{base}/jwks.json")}).to_string(),
    );
    issuer.serve("/jwks.json", jwks());
    let stack = start(&format!(
        "issuer = \"{base}\"\njwks_ca_file = \"{}\"",
        cert.ca_file()
    ))
    .await;
    let token = sign(&with(claims(), "iss", base.clone().into()));
    assert_eq!(call(&stack, &token).await, 200);
    assert_eq!(issuer.requests(), 2);
}

#[test]
fn key_source_config_errors_name_their_place() {
    let dir = std::env::temp_dir().join(format!("portico-jwks-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("empty.pem"), "no certificate here\n").expect("write");
    let bad = format!(
        r#"[apis.web.authorizers.nowhere]
type = "jwt"
issuer = "my-issuer"
audiences = ["a"]
[apis.web.authorizers.no_ca]
type = "jwt"
issuer = "https://issuer.example.com"
audiences = ["a"]
jwks_ca_file = "{missing}"
[apis.web.authorizers.empty_ca]
type = "jwt"
issuer = "https://issuer.example.com"
audiences = ["a"]
jwks_ca_file = "{empty}"
[apis.web.authorizers.signed]
type = "iam"
jwks_ca_file = "{empty}"
credentials = [{{ access_key_id = "AKID", secret_access_key = "s", principal = "arn:aws:iam::123456789012:user/a", routes = ["*"] }}]
"#,
        missing = dir.join("missing.pem").display(),
        empty = dir.join("empty.pem").display(),
    );
    assert_authorizer_config_errors(
        &bad,
        &[
            "gw.toml:4:1: api `web`: authorizer `nowhere`: a JWT authorizer needs `jwks_file`, `jwks_url`, or an `issuer` that is an http(s) URL to discover its keys from",
            "gw.toml:12:16: api `web`: authorizer `no_ca`: `jwks_ca_file` `",
            "gw.toml:17:16: api `web`: authorizer `empty_ca`: `jwks_ca_file` `",
            "holds no PEM certificate",
            "api `web`: authorizer `signed`: an IAM authorizer takes only `credentials`",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
