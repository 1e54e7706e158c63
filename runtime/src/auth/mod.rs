//! Authorization at the front door: resource policies (source IP), CORS, JWT authorizers,
//! Lambda authorizers (TOKEN / REQUEST, with a result cache on the gateway's Clock) and IAM
//! authorizers (SigV4-signed requests).
//!
//! [`ApiAuth`] is built once per API; [`ApiAuth::authorize`] runs in the pipeline after route
//! match and before admission (API key, throttles).

pub mod cors;
pub mod document_fetch;
pub mod event;
pub mod gateway_responses;
mod identity;
pub mod jwks_remote;
pub mod jwt;
pub mod lambda_authorizer;
mod lambda_call;
pub mod policy;
pub mod sigv4;
mod sigv4_canonical;
mod sigv4_header;
mod sigv4_query;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};
use serde_json::{Map, Value};

pub use cors::CorsConfig;
pub use identity::IdentitySource;
pub use jwt::{Jwks, JwksSource};
pub use policy::IpPolicy;

use crate::config::auth::{ApiAuthConfig, RouteAuth};
use crate::gateway::error::GatewayError;
use crate::invoke::{Function, ACCOUNT_ID, REGION};
use crate::Clock;
use lambda_authorizer::ResultCache;

/// An authorizer as configured.
#[derive(Debug, Clone)]
pub struct AuthorizerDecl {
    /// Its name in the API.
    pub name: String,
    /// JWT or Lambda.
    pub kind: AuthorizerKind,
    /// Where the identity comes from.
    pub identity_source: Vec<IdentitySource>,
}

/// What kind of authorizer.
#[derive(Debug, Clone)]
pub enum AuthorizerKind {
    /// A JWT authorizer.
    Jwt {
        /// Required `iss`.
        issuer: String,
        /// Accepted `aud` / `client_id`.
        audiences: Vec<String>,
        /// Verification keys.
        jwks: JwksSource,
    },
    /// A Lambda authorizer.
    Lambda {
        /// The function invoked.
        function: String,
        /// TOKEN (true) or REQUEST.
        token: bool,
        /// Result cache lifetime; zero disables the cache.
        ttl: Duration,
        /// TOKEN: the (anchored) regex a token must match before the function is invoked.
        validation: Option<regex_lite::Regex>,
    },
    /// An IAM authorizer: SigV4 signatures with the declared keys.
    Iam(sigv4::IamCredentials),
}

/// What the authorizer established, handed to the function in `requestContext.authorizer`.
#[derive(Debug, Clone, Default)]
pub struct AuthContext {
    /// The principal (Lambda authorizers, or the JWT's `sub`).
    pub principal_id: Option<String>,
    /// JWT claims and scopes.
    pub jwt: Option<Arc<jwt::Verified>>,
    /// A Lambda authorizer's `context`.
    pub context: Map<String, Value>,
    /// A Lambda authorizer's `usageIdentifierKey`.
    pub usage_identifier_key: Option<String>,
    /// The signer of a SigV4 request (IAM authorizers).
    pub iam: Option<Arc<sigv4::IamIdentity>>,
}

/// An API's authorization at run time: config plus the authorizers' result caches.
#[derive(Default)]
pub struct ApiAuth {
    config: ApiAuthConfig,
    caches: HashMap<String, ResultCache>,
    tokens: HashMap<String, jwt::VerifiedCache>,
}

/// The request facts authorization looks at.
pub struct AuthRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Raw query string.
    pub query: &'a str,
    /// The path as sent (with the stage, still percent-encoded).
    pub raw_path: &'a str,
    /// The matched route's key as written (`GET /pets/{id}`).
    pub route_key: &'a str,
    /// The body, read beforehand for routes whose authorizer needs it (IAM).
    pub body: Option<&'a [u8]>,
    /// Path within the stage.
    pub stage_path: &'a str,
    /// The route's resource (`/pets/{id}`) or route key.
    pub resource: &'a str,
    /// Caller address.
    pub source_ip: IpAddr,
    /// HTTP API or REST.
    pub http_api: bool,
    /// Stage name.
    pub stage: &'a str,
    /// Stage variables.
    pub stage_variables: &'a std::collections::BTreeMap<String, String>,
    /// API id.
    pub api_id: &'a str,
}

/// A refusal: the gateway error and the detail for the log.
pub(crate) type Refusal = (GatewayError, String);

impl ApiAuth {
    /// Builds the run-time state of an API's authorization.
    pub fn new(config: ApiAuthConfig) -> ApiAuth {
        let caches = config
            .authorizers
            .keys()
            .map(|name| (name.clone(), ResultCache::default()))
            .collect();
        let tokens = config
            .authorizers
            .keys()
            .map(|name| (name.clone(), jwt::VerifiedCache::default()))
            .collect();
        ApiAuth {
            config,
            caches,
            tokens,
        }
    }

    /// The API's customized gateway responses.
    pub fn responses(&self) -> &gateway_responses::GatewayResponses {
        &self.config.responses
    }

    /// The API key for usage plans: the `x-api-key` header, or with `api_key_source =
    /// "AUTHORIZER"` the Lambda authorizer's `usageIdentifierKey` (the header is then ignored).
    pub fn api_key<'a>(
        &self,
        headers: &'a HeaderMap,
        authorized: Option<&'a AuthContext>,
    ) -> Option<&'a str> {
        if self.config.api_key_from_authorizer {
            authorized.and_then(|a| a.usage_identifier_key.as_deref())
        } else {
            headers
                .get(crate::gateway::admission::API_KEY_HEADER)
                .and_then(|v| v.to_str().ok())
        }
    }

    /// The API's CORS config.
    pub fn cors(&self) -> Option<&CorsConfig> {
        self.config.cors.as_ref()
    }

    /// Whether the route's authorizer needs the body (SigV4 signs it), so the pipeline reads
    /// it before authorizing; other routes keep reading it only once they are allowed.
    pub fn needs_body(&self, route: Option<&RouteAuth>) -> bool {
        route
            .and_then(|r| r.authorizer.as_ref())
            .and_then(|name| self.config.authorizers.get(name))
            .is_some_and(|d| matches!(d.kind, AuthorizerKind::Iam(_)))
    }

    /// Resource policy, then the route's authorizer. `Ok(None)`: allowed, nothing to pass on.
    pub async fn authorize(
        &self,
        route: Option<&RouteAuth>,
        req: &AuthRequest<'_>,
        functions: &HashMap<String, Arc<Function>>,
        clock: &Clock,
    ) -> Result<Option<AuthContext>, Refusal> {
        if let Some(policy) = &self.config.policy {
            if !policy.permits(req.source_ip) {
                return Err((
                    GatewayError::PolicyDenied,
                    format!("source {} refused by the resource policy", req.source_ip),
                ));
            }
        }
        let Some(route) = route else {
            return Ok(None);
        };
        if let Some(policy) = &route.policy {
            if !policy.permits(req.source_ip) {
                return Err((
                    GatewayError::PolicyDenied,
                    format!(
                        "source {} refused by the route's resource policy",
                        req.source_ip
                    ),
                ));
            }
        }
        let Some(name) = &route.authorizer else {
            return Ok(None);
        };
        let Some(decl) = self.config.authorizers.get(name) else {
            return Err((GatewayError::AuthorizerFailure, "authorizer missing".into()));
        };
        let denied = if req.http_api {
            GatewayError::AuthorizerDenied
        } else {
            GatewayError::AccessDenied
        };
        match &decl.kind {
            AuthorizerKind::Iam(credentials) => {
                let identity =
                    sigv4::verify(credentials, req, &method_arn(req), clock.now_millis())?;
                Ok(Some(AuthContext {
                    iam: Some(Arc::new(identity)),
                    ..AuthContext::default()
                }))
            }
            AuthorizerKind::Jwt {
                issuer,
                audiences,
                jwks,
            } => {
                let identity = identity::identity_values(&decl.identity_source, req)?;
                let token = identity.first().map(String::as_str).unwrap_or("");
                let verified = jwt::verify_cached(
                    token,
                    jwks,
                    issuer,
                    audiences,
                    self.tokens.get(&decl.name),
                    clock,
                )
                .await
                .map_err(|e| (GatewayError::Unauthorized, e))?;
                if !route.scopes.is_empty()
                    && !route.scopes.iter().any(|s| verified.scopes.contains(s))
                {
                    return Err((denied, "the token lacks the route's scopes".into()));
                }
                Ok(Some(AuthContext {
                    principal_id: verified.claims.get("sub").cloned(),
                    jwt: Some(verified),
                    ..AuthContext::default()
                }))
            }
            AuthorizerKind::Lambda {
                function,
                token,
                ttl,
                validation,
            } => {
                let identity = identity::identity_values(&decl.identity_source, req)?;
                let method_arn = method_arn(req);
                let call = lambda_call::LambdaCall {
                    function,
                    token: *token,
                    ttl: *ttl,
                    validation: validation.as_ref(),
                    cache: self.caches.get(&decl.name),
                    method_arn: &method_arn,
                    denied,
                };
                lambda_call::authorize(call, identity, req, functions, clock).await
            }
        }
    }
}

/// The method ARN of a request, as authorizers and IAM messages name it.
fn method_arn(req: &AuthRequest<'_>) -> String {
    format!(
        "arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{}/{}/{}/{}",
        req.api_id,
        req.stage,
        req.method,
        req.stage_path.trim_start_matches('/')
    )
}
