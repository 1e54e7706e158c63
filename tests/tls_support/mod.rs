//! Servers the tests start on 127.0.0.1:0, over plain HTTP or over TLS with a self-signed
//! certificate (its CA written to a temporary file a client can be told to trust).

#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

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

/// Serves `answer` on `listener` (over TLS with `tls`) until the test ends.
pub fn serve<F, Fut>(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    answer: F,
) where
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let (answer, tls) = (answer.clone(), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = answer.clone();
                    async move { Ok::<_, Infallible>(answer(req).await) }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(socket).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    }
                }
            });
        }
    });
}
