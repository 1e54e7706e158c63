//! TLS certificates from config: `[server.tls]` and per custom domain. The PEM files are read
//! and checked at load, so a missing or bad file is a config error with its place, never a
//! failed handshake later.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;

/// `tls = { cert = "cert.pem", key = "key.pem" }`: PEM files relative to the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate chain, leaf first, as PEM.
    pub cert: Spanned<String>,
    /// The private key (PKCS#8, PKCS#1 or SEC1) as PEM.
    pub key: Spanned<String>,
}

/// A loaded certificate chain with its signing key.
#[derive(Clone)]
pub struct TlsIdentity(pub Arc<CertifiedKey>);

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsIdentity({} certificates)", self.0.cert.len())
    }
}

/// Loads `section`'s files; `what` names the owner (`[server.tls]`, `domain x`) in errors.
pub(super) fn load(
    section: &TlsSection,
    what: &str,
    config_file: &str,
    errors: &mut Errors<'_>,
) -> Option<TlsIdentity> {
    let base = Path::new(config_file).parent().unwrap_or(Path::new("."));
    let cert_path = base.join(section.cert.get_ref());
    let key_path = base.join(section.key.get_ref());
    let cert_at = Some(section.cert.span().start);
    let key_at = Some(section.key.span().start);
    let certs: Vec<CertificateDer<'static>> = match read(&cert_path) {
        Err(e) => {
            errors.at(
                cert_at,
                format!("{what}: cannot read `cert` `{}`: {e}", cert_path.display()),
            );
            return None;
        }
        Ok(bytes) => CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect(),
    };
    if certs.is_empty() {
        errors.at(
            cert_at,
            format!("{what}: `{}` holds no PEM certificate", cert_path.display()),
        );
        return None;
    }
    let key = match read(&key_path) {
        Err(e) => {
            errors.at(
                key_at,
                format!("{what}: cannot read `key` `{}`: {e}", key_path.display()),
            );
            return None;
        }
        Ok(bytes) => match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(key) => key,
            Err(_) => {
                errors.at(
                    key_at,
                    format!("{what}: `{}` holds no PEM private key", key_path.display()),
                );
                return None;
            }
        },
    };
    let signing = match any_supported_type(&key) {
        Ok(signing) => signing,
        Err(e) => {
            errors.at(
                key_at,
                format!(
                    "{what}: the key in `{}` cannot sign: {e}",
                    key_path.display()
                ),
            );
            return None;
        }
    };
    let certified = CertifiedKey::new(certs, signing);
    if let Err(e) = certified.keys_match() {
        errors.at(
            key_at,
            format!("{what}: the key does not belong to the certificate: {e}"),
        );
        return None;
    }
    Some(TlsIdentity(Arc::new(certified)))
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}
