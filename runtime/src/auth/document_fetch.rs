//! GETs of the documents a JWT authorizer needs: its JWKS and its issuer's OpenID discovery
//! document, over the shared one-shot client ([`crate::net::http_client`]). Fetches are rare
//! (at most one per JWKS per 30 s of Clock time); the caller bounds each on its Clock.
//!
//! HTTPS trusts the system's CA bundle plus an authorizer's own `jwks_ca_file`.

use bytes::Bytes;
use rustls_pki_types::CertificateDer;

use crate::net::http_client::HttpClient;

pub use crate::net::http_client::read_ca_file;

/// Fetches documents over `http://` and `https://`.
#[derive(Debug, Default)]
pub struct DocumentClient {
    client: HttpClient,
}

impl DocumentClient {
    /// A client that also trusts the certificates in `extra_roots`.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> DocumentClient {
        DocumentClient {
            client: HttpClient::new(extra_roots),
        }
    }

    /// The body of a 2xx answer to `GET uri`, at most `limit` bytes.
    pub async fn get(&self, uri: &http::Uri, limit: usize) -> Result<Bytes, String> {
        let request = http::Request::get(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Bytes::new())
            .map_err(|e| format!("{uri}: {e}"))?;
        let response = self.client.send(request, limit).await?;
        if !response.status().is_success() {
            return Err(format!("{uri}: status {}", response.status()));
        }
        Ok(response.into_body())
    }
}
