//! `[domains."api.example.com"]`: custom domain names, as API Gateway models them — a domain
//! holds base path mappings, each naming an API and one of its stages, and optionally its own
//! TLS certificate, chosen by SNI.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use super::tls::{TlsIdentity, TlsSection};
use super::Api;

/// The base path key that maps the domain's root, as the API Gateway console shows it.
pub const NO_BASE_PATH: &str = "(none)";

/// `[domains.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// Base path → `"api:stage"`; the base path `(none)` maps the domain's root.
    #[serde(default)]
    pub mappings: BTreeMap<String, Spanned<String>>,
    /// The domain's own certificate, served when a TLS client asks for this name (SNI).
    pub tls: Option<Spanned<TlsSection>>,
}

/// A custom domain name, resolved.
#[derive(Debug, Clone)]
pub struct Domain {
    /// The host name, lowercase.
    pub name: String,
    /// Its mappings, longest base path first, the root (`""`) last.
    pub mappings: Vec<BasePathMapping>,
    /// Its certificate, if it has one.
    pub tls: Option<TlsIdentity>,
}

/// One base path of a domain and the API stage it serves.
#[derive(Debug, Clone)]
pub struct BasePathMapping {
    /// `""` for the root, otherwise segments without slashes at either end (`v1`, `v1/orders`).
    pub base_path: String,
    /// The API's name.
    pub api: String,
    /// The stage's name.
    pub stage: String,
}

/// Resolves every domain against the resolved APIs.
pub(super) fn resolve(
    sections: &BTreeMap<String, Spanned<DomainSection>>,
    apis: &[Api],
    config_file: &str,
    errors: &mut Errors<'_>,
) -> Vec<Domain> {
    let mut out: Vec<Domain> = Vec::new();
    for (name, section) in sections {
        let at = Some(section.span().start);
        let section = section.get_ref();
        let host = name.to_ascii_lowercase();
        if out.iter().any(|d| d.name == host) {
            errors.at(
                at,
                format!("domain `{name}` is declared twice (host names ignore case)"),
            );
            continue;
        }
        let valid_host = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid_host {
            errors.at(
                at,
                format!("domain `{name}` is not a host name like api.example.com"),
            );
            continue;
        }
        if section.mappings.is_empty() {
            errors.at(at, format!("domain `{name}`: `mappings` is empty; map a base path, e.g. mappings = {{ \"v1\" = \"orders:prod\" }}"));
        }
        let mut mappings = Vec::new();
        for (base, target) in &section.mappings {
            let target_at = Some(target.span().start);
            let Some(base_path) = base_path(base) else {
                errors.at(target_at, format!("domain `{name}`: base path `{base}` must be `(none)` or plain segments like v1 or v1/orders"));
                continue;
            };
            let Some((api, stage)) = target.get_ref().split_once(':') else {
                errors.at(target_at, format!("domain `{name}`: mapping `{base}` = \"{}\" must name an API and a stage, like \"orders:prod\"", target.get_ref()));
                continue;
            };
            match apis.iter().find(|a| a.name == api) {
                None => errors.at(target_at, format!("domain `{name}`: mapping `{base}` names API `{api}`, which is not defined")),
                Some(a) if !a.stages.iter().any(|s| s.name == stage) => errors.at(target_at, format!("domain `{name}`: mapping `{base}` names stage `{stage}`, which API `{api}` does not have")),
                Some(_) => mappings.push(BasePathMapping {
                    base_path,
                    api: api.to_owned(),
                    stage: stage.to_owned(),
                }),
            }
        }
        mappings.sort_by_key(|m| std::cmp::Reverse(m.base_path.len()));
        let tls = section.tls.as_ref().and_then(|t| {
            super::tls::load(
                t.get_ref(),
                &format!("domain `{name}`: tls"),
                config_file,
                errors,
            )
        });
        out.push(Domain {
            name: host,
            mappings,
            tls,
        });
    }
    out
}

/// `(none)` → `""`; `v1`, `/v1/` → `v1`; anything with an empty segment or `{`, `?`, `#` is
/// refused.
fn base_path(key: &str) -> Option<String> {
    if key == NO_BASE_PATH {
        return Some(String::new());
    }
    let trimmed = key.trim_matches('/');
    let valid = !trimmed.is_empty()
        && trimmed
            .split('/')
            .all(|s| !s.is_empty() && !s.contains(['{', '}', '?', '#', '%', ' ']));
    valid.then(|| trimmed.to_owned())
}
