//! TLS for the servers the tests start (see `upstream_support::serve`): a self-signed
//! certificate, its CA written to a temporary file a client can be told to trust.

#![allow(dead_code)]

use std::sync::Arc;

/// A self-signed certificate for `localhost`, its PEM also in a temporary `ca.pem`.
pub struct Certificate {
    dir: std::path::PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Certificate {
    /// A fresh certificate; `test` names its temporary directory.
    pub fn new(test: &str) -> Certificate {
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let dir = std::env::temp_dir().join(format!("portico-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ca.pem"), made.cert.pem()).expect("write");
        Certificate {
            dir,
            cert_pem: made.cert.pem(),
            key_pem: made.key_pair.serialize_pem(),
        }
    }

    /// The path of the PEM file holding the certificate (its own CA).
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    /// A TLS acceptor presenting this certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        acceptor(&self.cert_pem, &self.key_pem)
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS acceptor presenting `cert` (PEM) with `key` (PEM).
pub fn acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    let cert = rustls_pki_types::pem::PemObject::from_pem_slice(cert.as_bytes()).expect("cert pem");
    let key = rustls_pki_types::pem::PemObject::from_pem_slice(key.as_bytes()).expect("key pem");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
