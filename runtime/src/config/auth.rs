//! Authorization config: `[apis.NAME.authorizers.X]`, `[apis.NAME.cors]`,
//! `[apis.NAME.resource_policy]` and the route keys `authorizer` / `authorization_scopes`,
//! as written and resolved (every error collected with its place).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use std::sync::Arc;

use crate::auth::jwks_remote::RemoteJwks;
use crate::auth::{
    AuthorizerDecl, AuthorizerKind, CorsConfig, IdentitySource, IpPolicy, Jwks, JwksSource,
};

/// `[apis.NAME.authorizers.X]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerSection {
    /// `jwt`, `token` (Lambda TOKEN) or `request` (Lambda REQUEST).
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// JWT: the required `iss`.
    pub issuer: Option<Spanned<String>>,
    /// JWT: accepted `aud` values (at least one).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// JWT: the JWKS file, relative to the config file.
    pub jwks_file: Option<Spanned<String>>,
    /// JWT: the JWKS URL (`http://`), fetched on first use and on an unknown `kid`.
    pub jwks_url: Option<Spanned<String>>,
    /// Where the identity comes from (`$request.header.Authorization`,
    /// `$request.querystring.x`, `$stageVariables.x`; REST's `method.request.header.X` too).
    pub identity_source: Option<Spanned<Vec<String>>>,
    /// Lambda authorizers: the function to invoke.
    pub function: Option<Spanned<String>>,
    /// Lambda authorizers: how long a result is cached per identity (default `300s`, `0s` off).
    pub ttl: Option<Spanned<String>>,
    /// TOKEN authorizers: a regex the whole token must match, else 401 without invoking.
    pub identity_validation_expression: Option<Spanned<String>>,
    /// IAM authorizers: the access keys requests may be signed with.
    #[serde(default)]
    pub credentials: Vec<Spanned<CredentialSection>>,
}

/// One access key of an IAM authorizer: `credentials = [{ access_key_id = ..., ... }]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSection {
    /// The access key id (`AKIA...`).
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: String,
    /// The principal's ARN (`arn:aws:iam::123456789012:user/alice`).
    pub principal: String,
    /// The IAM unique id reported as `caller` / `user` (default: the access key id).
    pub user_id: Option<String>,
    /// Route keys the principal may invoke; `*` matches any run of characters.
    pub routes: Vec<String>,
}

/// `[apis.NAME.cors]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins, or `["*"]`.
    pub allow_origins: Spanned<Vec<String>>,
    /// Allowed methods (default: all).
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Allowed request headers.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Headers the browser may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Preflight cache lifetime, in seconds.
    pub max_age: Option<u32>,
    /// `Access-Control-Allow-Credentials: true`.
    #[serde(default)]
    pub allow_credentials: bool,
}

/// `[apis.NAME.resource_policy]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePolicySection {
    /// When not empty, only these source ranges (CIDR) may call the API.
    pub allow_source_ips: Option<Spanned<Vec<String>>>,
    /// These source ranges may never call the API (deny wins).
    pub deny_source_ips: Option<Spanned<Vec<String>>>,
}

/// An API's authorization, resolved.
#[derive(Debug, Clone, Default)]
pub struct ApiAuthConfig {
    /// Authorizers by name.
    pub authorizers: BTreeMap<String, AuthorizerDecl>,
    /// CORS, when configured.
    pub cors: Option<CorsConfig>,
    /// The resource policy, when configured.
    pub policy: Option<IpPolicy>,
    /// Customized gateway responses by type.
    pub responses: crate::auth::gateway_responses::GatewayResponses,
    /// `api_key_source = "AUTHORIZER"`: usage plans key on the authorizer's
    /// `usageIdentifierKey` instead of `x-api-key`.
    pub api_key_from_authorizer: bool,
}

/// A route's authorization: its own resource policy, which authorizer and which scopes.
#[derive(Debug, Clone, Default)]
pub struct RouteAuth {
    /// The authorizer's name in its API, if the route has one.
    pub authorizer: Option<String>,
    /// Any one of these scopes is required (JWT); empty: none.
    pub scopes: Vec<String>,
    /// The route's resource policy; the API's applies too (deny wins in either).
    pub policy: Option<IpPolicy>,
}

/// Inputs of [`resolve`]: the API's sections.
pub(super) struct Sections<'s> {
    pub authorizers: &'s BTreeMap<String, Spanned<AuthorizerSection>>,
    pub cors: Option<&'s Spanned<CorsSection>>,
    pub policy: Option<&'s Spanned<ResourcePolicySection>>,
    pub responses: &'s BTreeMap<String, Spanned<super::gateway_responses::GatewayResponseSection>>,
    pub api_key_source: Option<&'s Spanned<String>>,
}

/// Resolves an API's authorization sections.
pub(super) fn resolve(
    api: &str,
    sections: Sections<'_>,
    config_file: &str,
    function_exists: &dyn Fn(&str) -> bool,
    errors: &mut Errors<'_>,
) -> ApiAuthConfig {
    let mut out = ApiAuthConfig::default();
    for (name, section) in sections.authorizers {
        if let Some(decl) =
            resolve_authorizer(api, name, section, config_file, function_exists, errors)
        {
            out.authorizers.insert(name.clone(), decl);
        }
    }
    if let Some(cors) = sections.cors {
        let at = Some(cors.span().start);
        let c = cors.get_ref();
        let any = c.allow_origins.get_ref().iter().any(|o| o == "*");
        if c.allow_credentials && any {
            errors.at(at, format!("api `{api}`: cors: `allow_credentials = true` cannot be combined with `allow_origins = [\"*\"]` (browsers reject it); list the origins"));
        }
        if c.allow_origins.get_ref().is_empty() {
            errors.at(
                Some(c.allow_origins.span().start),
                format!("api `{api}`: cors: `allow_origins` needs at least one origin"),
            );
        }
        out.cors = Some(CorsConfig {
            allow_origins: c.allow_origins.get_ref().clone(),
            allow_methods: c
                .allow_methods
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            allow_headers: c
                .allow_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            expose_headers: c.expose_headers.clone(),
            max_age: c.max_age,
            allow_credentials: c.allow_credentials,
        });
    }
    match sections.api_key_source.map(|s| (s, s.get_ref().as_str())) {
        None | Some((_, "HEADER")) => {}
        Some((_, "AUTHORIZER")) => out.api_key_from_authorizer = true,
        Some((s, other)) => errors.at(
            Some(s.span().start),
            format!(
                "api `{api}`: `api_key_source = \"{other}\"` must be \"HEADER\" or \"AUTHORIZER\""
            ),
        ),
    }
    for (kind, section) in sections.responses {
        if let Some(r) = super::gateway_responses::resolve(api, kind, section, errors) {
            out.responses.0.insert(kind.clone(), r);
        }
    }
    if let Some(policy) = sections.policy {
        out.policy = Some(super::auth_route::resolve_policy(
            &format!("api `{api}`"),
            policy.get_ref(),
            errors,
        ));
    }
    out
}

fn resolve_authorizer(
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
            let jwks = match (&s.jwks_file, &s.jwks_url) {
                (Some(file), None) => {
                    let base = Path::new(config_file).parent().unwrap_or(Path::new("."));
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
                    Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {
                        Some(JwksSource::Url(Arc::new(RemoteJwks::new(uri))))
                    }
                    _ => {
                        errors.at(
                            Some(url.span().start),
                            format!("{what}: `jwks_url = \"{}\"` must be an http:// URL (TLS is not supported; serve the JWKS locally)", url.get_ref()),
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
                    errors.at(
                        at,
                        format!("{what}: a JWT authorizer needs `jwks_file` or `jwks_url`"),
                    );
                    None
                }
            };
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
                || !s.audiences.is_empty()
            {
                errors.at(
                    at,
                    format!("{what}: `issuer`, `audiences`, `jwks_file` and `jwks_url` apply to JWT authorizers only"),
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
