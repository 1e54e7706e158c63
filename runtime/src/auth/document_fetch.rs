//! One-shot HTTP and HTTPS GETs of the documents a JWT authorizer needs: its JWKS and its
//! issuer's OpenID discovery document. Fetches are rare (at most one per JWKS per 30 s of
//! Clock time), so each uses a fresh connection rather than a pool.
//!
//! HTTPS trusts the system's CA bundle (`SSL_CERT_FILE`, else the usual Linux paths) plus an
//! authorizer's own `jwks_ca_file`. Hand-written on hyper's client connection and tokio-rustls,
//! both already in the tree, instead of pulling in a full client stack for two GETs.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

/// Where Linux distributions keep the CA bundle, tried in order after `SSL_CERT_FILE`.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Fetches documents over `http://` and `https://`.
#[derive(Default)]
pub struct DocumentClient {
    /// CA certificates trusted besides the system bundle.
    extra_roots: Vec<CertificateDer<'static>>,
    tls: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
}

impl std::fmt::Debug for DocumentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentClient")
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

impl DocumentClient {
    /// A client that also trusts the certificates in `extra_roots`.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> DocumentClient {
        DocumentClient {
            extra_roots,
            tls: OnceLock::new(),
        }
    }

    /// The body of a 2xx answer to `GET uri`, at most `limit` bytes.
    pub async fn get(&self, uri: &http::Uri, limit: usize) -> Result<Bytes, String> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{uri}: only http:// and https:// URLs are fetched")),
        };
        let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        // `[::1]` in a URL is `::1` to connect to and to name the server by.
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((bare_host, port))
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = uri.authority().map_or(host, |a| a.as_str());
        if https {
            let connector = self.tls_connector()?;
            let name =
                ServerName::try_from(bare_host.to_owned()).map_err(|e| format!("{uri}: {e}"))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("{uri}: TLS: {e}"))?;
            get_over(TokioIo::new(tls), uri, authority, path, limit).await
        } else {
            get_over(TokioIo::new(tcp), uri, authority, path, limit).await
        }
    }

    fn tls_connector(&self) -> Result<tokio_rustls::TlsConnector, String> {
        self.tls
            .get_or_init(|| tls_connector(&self.extra_roots))
            .clone()
    }
}

/// Reads every certificate of a PEM file (a private CA for `jwks_ca_file`).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("`{}`: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn system_roots() -> Vec<CertificateDer<'static>> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = from_env
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from));
    for path in candidates {
        if let Ok(certs) = read_ca_file(&path) {
            return certs;
        }
    }
    tracing::warn!("no CA bundle found (set SSL_CERT_FILE); HTTPS trusts only jwks_ca_file");
    Vec::new()
}

fn tls_connector(extra: &[CertificateDer<'static>]) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    // Bundles carry a few certificates rustls cannot parse; skipping them is what every
    // client does.
    let _ = roots.add_parsable_certificates(system_roots());
    for cert in extra {
        roots
            .add(cert.clone())
            .map_err(|e| format!("jwks_ca_file: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS is unavailable: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn get_over<IO>(
    io: IO,
    uri: &http::Uri,
    authority: &str,
    path: &str,
    limit: usize,
) -> Result<Bytes, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    let driver = tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{uri}: {e}"))?;
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{uri}: status {}", response.status()));
        }
        Ok(Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| format!("{uri}: {e}"))?
            .to_bytes())
    }
    .await;
    driver.abort();
    answer
}
