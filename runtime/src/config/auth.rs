//! Authorization config: `[apis.NAME.authorizers.X]`, `[apis.NAME.cors]`,
//! `[apis.NAME.resource_policy]` and the route keys `authorizer` / `authorization_scopes`,
//! as written and resolved (every error collected with its place).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use crate::auth::{AuthorizerDecl, CorsConfig, IpPolicy};

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
    /// JWT: the JWKS URL (`http://` or `https://`), fetched on first use and on an unknown
    /// `kid`. With neither this nor `jwks_file`, the keys are found through the `issuer`'s
    /// OpenID discovery document.
    pub jwks_url: Option<Spanned<String>>,
    /// JWT: a PEM file of CA certificates trusted for HTTPS besides the system's, relative to
    /// the config file.
    pub jwks_ca_file: Option<Spanned<String>>,
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
        if let Some(decl) = super::auth_authorizer::resolve_authorizer(
            api,
            name,
            section,
            config_file,
            function_exists,
            errors,
        ) {
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
