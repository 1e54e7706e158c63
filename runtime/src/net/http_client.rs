//! One-shot HTTP and HTTPS requests for the stack's own rare outbound calls: the JWKS and
//! OpenID discovery documents of JWT authorizers. Each request uses a fresh connection (these
//! calls are minutes apart, so a pool would only hold idle sockets); the OTLP exporter keeps
//! its one connection open instead ([`super::kept_connection`]).
//!
//! HTTPS trusts the system's CA bundle (`SSL_CERT_FILE`, else the usual Linux paths) plus a
//! client's own extra roots (an authorizer's `jwks_ca_file`). Hand-written on hyper's client
//! connection and tokio-rustls, both already in the tree, instead of pulling in a full client
//! stack for a few requests.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::Clock;

/// Where Linux distributions keep the CA bundle, tried in order after `SSL_CERT_FILE`.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Sends one request per connection over `http://` or `https://`.
#[derive(Default)]
pub struct HttpClient {
    /// CA certificates trusted besides the system bundle.
    extra_roots: Vec<CertificateDer<'static>>,
    tls: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

impl HttpClient {
    /// A client that also trusts the certificates in `extra_roots`.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> HttpClient {
        HttpClient {
            extra_roots,
            tls: OnceLock::new(),
        }
    }

    /// Sends `request` (its URI absolute) and reads an answer body of at most `limit` bytes.
    /// Errors name the URL and say what failed; any status is an answer.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
        limit: usize,
    ) -> Result<http::Response<Bytes>, String> {
        let uri = request.uri().clone();
        let mut connection = self.connect(&uri).await?;
        let answer = async {
            let response = connection
                .sender
                .send_request(origin_form(request)?)
                .await
                .map_err(|e| format!("{uri}: {e}"))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| format!("{uri}: {e}"))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        }
        .await;
        drop(connection);
        answer
    }

    /// Opens an HTTP/1.1 connection to `uri`'s server (over TLS for `https://`), its driver
    /// running in a task of its own until the [`Connection`] is dropped.
    pub(crate) async fn connect(&self, uri: &http::Uri) -> Result<Connection, String> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(format!(
                    "{uri}: only http:// and https:// URLs are supported"
                ))
            }
        };
        let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        // `[::1]` in a URL is `::1` to connect to and to name the server by.
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((bare_host, port))
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        if https {
            let connector = self.tls_connector()?;
            let name =
                ServerName::try_from(bare_host.to_owned()).map_err(|e| format!("{uri}: {e}"))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("{uri}: TLS: {e}"))?;
            handshake(TokioIo::new(tls), uri).await
        } else {
            handshake(TokioIo::new(tcp), uri).await
        }
    }

    /// [`HttpClient::send`] bounded by `timeout` on `clock`.
    pub async fn send_within(
        &self,
        request: http::Request<Bytes>,
        limit: usize,
        clock: &Clock,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, String> {
        let uri = request.uri().clone();
        within(&uri, clock, timeout, self.send(request, limit)).await
    }

    fn tls_connector(&self) -> Result<tokio_rustls::TlsConnector, String> {
        self.tls
            .get_or_init(|| tls_connector(&self.extra_roots))
            .clone()
    }
}

/// `answer`, or an error naming `uri` once `timeout` passes on `clock`.
pub(crate) async fn within<T>(
    uri: &http::Uri,
    clock: &Clock,
    timeout: Duration,
    answer: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    // A guard, not something to wait for: tests that wait for a manual clock's sleepers
    // (a retry's backoff) must not see it.
    tokio::select! {
        biased;
        answer = answer => answer,
        () = clock.sleep_in_background(timeout) => {
            Err(format!("{uri}: no answer within {timeout:?}"))
        }
    }
}

/// Reads every certificate of a PEM file (a private CA).
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
    tracing::warn!("no CA bundle found (set SSL_CERT_FILE); HTTPS trusts only the extra roots");
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
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS is unavailable: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// An open HTTP/1.1 connection: what sends on it, and the task driving it (stopped when
/// the connection is dropped).
pub(crate) struct Connection {
    /// Sends requests in origin form (see [`origin_form`]).
    pub sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

async fn handshake<IO>(io: IO, uri: &http::Uri) -> Result<Connection, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    let driver = tokio::spawn(async move {
        // How the connection ended shows in the next send's error.
        let _ = connection.await;
    });
    Ok(Connection { sender, driver })
}

/// `request` as sent on a connection to its server: the request line carries the path and
/// query, `Host` names the server.
pub(crate) fn origin_form(
    request: http::Request<Bytes>,
) -> Result<http::Request<Full<Bytes>>, String> {
    let uri = request.uri().clone();
    let (mut parts, body) = request.into_parts();
    if let Some(authority) = uri.authority() {
        let host =
            http::HeaderValue::from_str(authority.as_str()).map_err(|e| format!("{uri}: {e}"))?;
        parts.headers.insert(http::header::HOST, host);
    }
    parts.uri = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|e| format!("{uri}: {e}"))?;
    Ok(http::Request::from_parts(parts, Full::new(body)))
}
