//! One authorizer's config (`[apis.NAME.authorizers.X]`) resolved by its `type`: JWT (JWKS
//! file or URL), Lambda TOKEN / REQUEST, or IAM.

use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::auth::AuthorizerSection;
use super::error::Errors;
use crate::auth::{AuthorizerDecl, AuthorizerKind, IdentitySource, JwksSource};

/// Resolves an authorizer; `None` (with errors collected) when anything is wrong.
pub(super) fn resolve_authorizer(
    api: &str,
    name: &str,
    section: &Spanned<AuthorizerSection>,
    config_file: &str,
    function_exists: &dyn Fn(&str) -> bool,
    errors: &mut Errors<'_>,
) -> Option<AuthorizerDecl> {
    let before = errors.list.len();
    let at = Some(section.span().start);
    let s = section.get_ref();
    let what = format!("api `{api}`: authorizer `{name}`");
    let sources = match &s.identity_source {
        Some(list) => {
            let mut out = Vec::new();
            for raw in list.get_ref() {
                match IdentitySource::parse(raw) {
                    Some(src) => out.push(src),
                    None => errors.at(Some(list.span().start), format!("{what}: identity source `{raw}` is not one of $request.header.NAME, $request.querystring.NAME, $stageVariables.NAME")),
                }
            }
            if out.is_empty() && list.get_ref().is_empty() {
                errors.at(
                    Some(list.span().start),
                    format!("{what}: `identity_source` needs at least one source"),
                );
            }
            out
        }
        None => vec![IdentitySource::Header("authorization".into())],
    };
    let kind = match s.kind.get_ref().as_str() {
        "jwt" => {
            let issuer = s.issuer.as_ref().map(|i| i.get_ref().clone());
            if issuer.is_none() {
                errors.at(at, format!("{what}: a JWT authorizer needs `issuer`"));
            }
            if s.audiences.is_empty() {
                errors.at(
                    at,
                    format!("{what}: a JWT authorizer needs `audiences = [...]`"),
                );
            }
            let jwks = super::auth_jwks::resolve_jwks(&what, at, s, config_file, errors);
            if s.function.is_some() || s.ttl.is_some() || s.identity_validation_expression.is_some()
            {
                errors.at(
                    at,
                    format!("{what}: `function`, `ttl` and `identity_validation_expression` apply to Lambda authorizers only"),
                );
            }
            if !s.credentials.is_empty() {
                errors.at(
                    at,
                    format!("{what}: `credentials` apply to IAM authorizers only"),
                );
            }
            AuthorizerKind::Jwt {
                issuer: issuer.unwrap_or_default(),
                audiences: s.audiences.clone(),
                jwks: jwks.unwrap_or_else(|| JwksSource::File(Arc::default())),
            }
        }
        "iam" => {
            if s.issuer.is_some()
                || s.jwks_file.is_some()
                || s.jwks_url.is_some()
                || s.jwks_ca_file.is_some()
                || !s.audiences.is_empty()
                || s.function.is_some()
                || s.ttl.is_some()
                || s.identity_validation_expression.is_some()
                || s.identity_source.is_some()
            {
                errors.at(
                    at,
                    format!("{what}: an IAM authorizer takes only `credentials`"),
                );
            }
            AuthorizerKind::Iam(super::auth_iam::resolve_credentials(
                &what,
                at,
                &s.credentials,
                errors,
            ))
        }
        kind @ ("token" | "request") => {
            let function = match &s.function {
                Some(f) if function_exists(f.get_ref()) => f.get_ref().clone(),
                Some(f) => {
                    errors.at(Some(f.span().start), format!("{what}: function `{}` is neither declared under [functions] nor registered", f.get_ref()));
                    String::new()
                }
                None => {
                    errors.at(at, format!("{what}: a Lambda authorizer needs `function`"));
                    String::new()
                }
            };
            if kind == "token" && sources.len() != 1 {
                errors.at(
                    at,
                    format!("{what}: a TOKEN authorizer takes exactly one identity source"),
                );
            }
            if s.issuer.is_some()
                || s.jwks_file.is_some()
                || s.jwks_url.is_some()
                || s.jwks_ca_file.is_some()
                || !s.audiences.is_empty()
            {
                errors.at(
                    at,
                    format!("{what}: `issuer`, `audiences`, `jwks_file`, `jwks_url` and `jwks_ca_file` apply to JWT authorizers only"),
                );
            }
            if !s.credentials.is_empty() {
                errors.at(
                    at,
                    format!("{what}: `credentials` apply to IAM authorizers only"),
                );
            }
            let ttl = match &s.ttl {
                Some(t) => match super::parse_duration(t.get_ref()) {
                    Ok(d) if d <= Duration::from_secs(3600) => d,
                    Ok(_) => {
                        errors.at(
                            Some(t.span().start),
                            format!("{what}: `ttl` is at most 3600s"),
                        );
                        Duration::ZERO
                    }
                    Err(e) => {
                        errors.at(Some(t.span().start), format!("{what}: `ttl`: {e}"));
                        Duration::ZERO
                    }
                },
                None => Duration::from_secs(300),
            };
            let validation = match &s.identity_validation_expression {
                None => None,
                Some(expr) if kind != "token" => {
                    errors.at(
                        Some(expr.span().start),
                        format!("{what}: `identity_validation_expression` applies to TOKEN authorizers only"),
                    );
                    None
                }
                // AWS matches the whole token, so the expression is anchored.
                Some(expr) => match regex_lite::Regex::new(&format!("^(?:{})$", expr.get_ref())) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        errors.at(
                            Some(expr.span().start),
                            format!("{what}: `identity_validation_expression` is not a valid regex: {e}"),
                        );
                        None
                    }
                },
            };
            AuthorizerKind::Lambda {
                function,
                token: kind == "token",
                ttl,
                validation,
            }
        }
        other => {
            errors.at(
                Some(s.kind.span().start),
                format!("{what}: `type = \"{other}\"` must be \"jwt\", \"token\", \"request\" or \"iam\""),
            );
            return None;
        }
    };
    (errors.list.len() == before).then(|| AuthorizerDecl {
        name: name.to_owned(),
        kind,
        identity_source: sources,
    })
}
