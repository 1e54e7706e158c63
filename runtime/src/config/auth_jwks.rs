//! Where a JWT authorizer's keys come from: `jwks_file`, `jwks_url` (`http://` or `https://`),
//! or — with neither — the OpenID discovery document of an `issuer` URL, as API Gateway's
//! JWT authorizers find them. `jwks_ca_file` adds a private CA for HTTPS.

use std::path::Path;
use std::sync::Arc;

use super::auth::AuthorizerSection;
use super::error::Errors;
use crate::auth::document_fetch::{read_ca_file, DocumentClient};
use crate::auth::jwks_remote::{discovery_url, JwksLocation, RemoteJwks};
use crate::auth::{Jwks, JwksSource};

fn is_web_url(uri: &http::Uri) -> bool {
    matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
}

/// The key source of a JWT authorizer; `None` (with errors collected) when it is wrong.
pub(super) fn resolve_jwks(
    what: &str,
    at: Option<usize>,
    s: &AuthorizerSection,
    config_file: &str,
    errors: &mut Errors<'_>,
) -> Option<JwksSource> {
    let base = Path::new(config_file).parent().unwrap_or(Path::new("."));
    let extra_roots = match &s.jwks_ca_file {
        Some(file) => match read_ca_file(&base.join(file.get_ref())) {
            Ok(certs) => certs,
            Err(e) => {
                errors.at(
                    Some(file.span().start),
                    format!("{what}: `jwks_ca_file` {e}"),
                );
                return None;
            }
        },
        None => Vec::new(),
    };
    let remote = |location| {
        Some(JwksSource::Url(Arc::new(RemoteJwks::new(
            location,
            DocumentClient::new(extra_roots.clone()),
        ))))
    };
    match (&s.jwks_file, &s.jwks_url) {
        (Some(file), None) => {
            let path = base.join(file.get_ref());
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| Jwks::parse(&text))
            {
                Ok(jwks) => Some(JwksSource::File(Arc::new(jwks))),
                Err(e) => {
                    errors.at(
                        Some(file.span().start),
                        format!("{what}: JWKS `{}`: {e}", path.display()),
                    );
                    None
                }
            }
        }
        (None, Some(url)) => match url.get_ref().parse::<http::Uri>() {
            Ok(uri) if is_web_url(&uri) => remote(JwksLocation::Url(uri)),
            _ => {
                errors.at(
                    Some(url.span().start),
                    format!(
                        "{what}: `jwks_url = \"{}\"` must be an http:// or https:// URL",
                        url.get_ref()
                    ),
                );
                None
            }
        },
        (Some(_), Some(url)) => {
            errors.at(
                Some(url.span().start),
                format!("{what}: give `jwks_file` or `jwks_url`, not both"),
            );
            None
        }
        (None, None) => {
            let issuer = s.issuer.as_ref()?;
            match issuer.get_ref().parse::<http::Uri>() {
                Ok(uri) if is_web_url(&uri) && discovery_url(&uri).is_ok() => {
                    remote(JwksLocation::Discovery(uri))
                }
                _ => {
                    errors.at(
                        at,
                        format!("{what}: a JWT authorizer needs `jwks_file`, `jwks_url`, or an `issuer` that is an http(s) URL to discover its keys from"),
                    );
                    None
                }
            }
        }
    }
}
