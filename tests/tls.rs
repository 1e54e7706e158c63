//! TLS on the gateway listener: a self-signed certificate made here, an HTTPS request with a
//! rustls client that trusts only it, per-domain certificates chosen by SNI, and clear config
//! errors for missing or bad PEM files.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use common::{quiet, shipped_registry, TestStack};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use portico_runtime::Config;
use rustls_pki_types::{CertificateDer, ServerName};

/// A certificate and key for `names`, written as PEM files into a fresh directory.
struct Identity {
    dir: PathBuf,
    der: CertificateDer<'static>,
}

impl Identity {
    fn new(test: &str, names: &[&str]) -> Identity {
        let dir = std::env::temp_dir().join(format!("portico-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let made = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .expect("certificate");
        std::fs::write(dir.join("cert.pem"), made.cert.pem()).expect("write cert");
        std::fs::write(dir.join("key.pem"), made.key_pair.serialize_pem()).expect("write key");
        Identity {
            der: made.cert.der().clone(),
            dir,
        }
    }

    fn cert(&self) -> String {
        self.dir.join("cert.pem").display().to_string()
    }

    fn key(&self) -> String {
        self.dir.join("key.pem").display().to_string()
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTPS GET over a fresh connection, trusting only `trusted`, asking for `sni`.
async fn https_get(
    stack: &TestStack,
    trusted: &CertificateDer<'static>,
    sni: &str,
    path: &str,
) -> Result<(u16, serde_json::Value), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(stack.addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(sni.to_owned()).map_err(|e| e.to_string())?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", sni)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let json = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok((status, json))
}

fn toml(server: &Identity, domain: Option<&Identity>) -> String {
    let mut toml = format!(
        r#"
[server.tls]
cert = "{}"
key = "{}"

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
[[apis.shop.routes]]
route = "GET /items/{{id}}"
function = "echo"
"#,
        server.cert(),
        server.key()
    );
    if let Some(domain) = domain {
        toml.push_str(&format!(
            r#"
[domains."api.example.com"]
mappings = {{ "v1" = "shop:prod" }}
tls = {{ cert = "{}", key = "{}" }}
"#,
            domain.cert(),
            domain.key()
        ));
    }
    quiet(&toml)
}

#[tokio::test]
async fn https_request_is_served_with_the_configured_certificate() {
    let server = Identity::new("basic", &["localhost"]);
    let stack = TestStack::start(&toml(&server, None), &shipped_registry()).await;
    let (status, event) = https_get(&stack, &server.der, "localhost", "/prod/items/4")
        .await
        .expect("https request");
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["pathParameters"]["id"], "4");
    // The listener speaks only TLS now: a plain HTTP request gets no HTTP answer.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let uri: http::Uri = format!("http://{}/prod/items/4", stack.addr)
        .parse()
        .expect("uri");
    assert!(client.get(uri).await.is_err());
}

#[tokio::test]
async fn a_domain_certificate_is_chosen_by_sni_and_routes_by_mapping() {
    let server = Identity::new("sni-server", &["localhost"]);
    let domain = Identity::new("sni-domain", &["api.example.com"]);
    let stack = TestStack::start(&toml(&server, Some(&domain)), &shipped_registry()).await;
    let (status, event) = https_get(&stack, &domain.der, "api.example.com", "/v1/items/8")
        .await
        .expect("https request to the custom domain");
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["path"], "/v1/items/8");
    assert_eq!(event["pathParameters"]["id"], "8");
    assert_eq!(event["requestContext"]["domainName"], "api.example.com");
    // Any other name gets the server's certificate, which the domain's trust does not cover.
    let refused = https_get(&stack, &domain.der, "localhost", "/prod/items/8").await;
    assert!(refused.is_err_and(|e| e.contains("handshake")));
    let (status, _) = https_get(&stack, &server.der, "localhost", "/prod/items/8")
        .await
        .expect("https request with the default certificate");
    assert_eq!(status, 200);
}

fn errors(toml: &str) -> String {
    match Config::from_toml(toml, "gateway.toml", &shipped_registry()) {
        Ok(_) => panic!("config should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_and_bad_pem_files_are_config_errors() {
    let good = Identity::new("bad-input", &["localhost"]);
    let other = Identity::new("bad-input-other", &["localhost"]);
    let missing = errors(&format!(
        "[server.tls]\ncert = \"{}/nope.pem\"\nkey = \"{}\"\n",
        good.dir.display(),
        good.key()
    ));
    assert!(
        missing.starts_with("gateway.toml:2:8: [server.tls]: cannot read `cert`"),
        "{missing}"
    );
    let garbage = good.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let text = errors(&format!(
        "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        garbage.display(),
        good.key()
    ));
    assert!(text.contains("holds no PEM certificate"), "{text}");
    let text = errors(&format!(
        "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        good.cert(),
        garbage.display()
    ));
    assert!(
        text.starts_with("gateway.toml:3:7:") && text.contains("holds no PEM private key"),
        "{text}"
    );
    let text = errors(&format!(
        "[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        good.cert(),
        other.key()
    ));
    assert!(
        text.contains("the key does not belong to the certificate"),
        "{text}"
    );
}
