//! HTTPS on the gateway listener: rustls with the certificate of `[server.tls]` and the
//! custom domains' own, picked by the name the client asks for (SNI).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// Picks a certificate by SNI: a domain's own, else the server's default.
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|name| self.by_name.get(&name.to_ascii_lowercase()))
            .or(self.default.as_ref())
            .cloned()
    }
}

/// The acceptor for `config`, or `None` when no certificate is configured (plain HTTP).
pub fn acceptor(config: &Config) -> Option<TlsAcceptor> {
    let by_name: HashMap<String, Arc<CertifiedKey>> = config
        .domains
        .iter()
        .filter_map(|d| Some((d.name.clone(), d.tls.as_ref()?.0.clone())))
        .collect();
    let default = config.server.tls.as_ref().map(|t| t.0.clone());
    if by_name.is_empty() && default.is_none() {
        return None;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The ring provider supports the default protocol versions, so this cannot fail; a
    // failure still leaves the listener on plain HTTP rather than panicking.
    let builder = match rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder,
        Err(e) => {
            tracing::error!(error = %e, "TLS is unavailable");
            return None;
        }
    };
    let mut server = builder
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { by_name, default }));
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Some(TlsAcceptor::from(Arc::new(server)))
}
