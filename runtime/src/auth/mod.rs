//! Authorization at the front door: resource policies (source IP), CORS, JWT authorizers,
//! Lambda authorizers (TOKEN / REQUEST, with a result cache on the gateway's Clock) and IAM
//! authorizers (SigV4-signed requests).
//!
//! [`ApiAuth`] is built once per API; [`ApiAuth::authorize`] runs in the pipeline after route
//! match and before admission (API key, throttles).

pub mod cors;
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
use lambda_authorizer::{Decision, ResultCache};

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
        let method_arn = method_arn(req);
        if let AuthorizerKind::Iam(credentials) = &decl.kind {
            let identity = sigv4::verify(credentials, req, &method_arn, clock.now_millis())?;
            return Ok(Some(AuthContext {
                iam: Some(Arc::new(identity)),
                ..AuthContext::default()
            }));
        }
        let identity = identity::identity_values(&decl.identity_source, req)?;
        let denied = if req.http_api {
            GatewayError::AuthorizerDenied
        } else {
            GatewayError::AccessDenied
        };
        match &decl.kind {
            AuthorizerKind::Jwt {
                issuer,
                audiences,
                jwks,
            } => {
                let token = identity.first().map(String::as_str).unwrap_or("");
                let verified = verify_jwt(
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
                if let Some(re) = validation {
                    if !re.is_match(&identity[0]) {
                        return Err((
                            GatewayError::Unauthorized,
                            "the token does not match identity_validation_expression".into(),
                        ));
                    }
                }
                let key = identity.join("\u{1f}");
                let now_ms = clock.now_millis();
                let cache = self.caches.get(&decl.name);
                let cached = cache
                    .filter(|_| !ttl.is_zero())
                    .and_then(|c| c.get(&key, now_ms));
                let decision = match cached {
                    Some(d) => d,
                    None => {
                        let event = if *token {
                            lambda_authorizer::token_event(&identity[0], &method_arn)
                        } else {
                            lambda_authorizer::request_event(lambda_call::facts(
                                req,
                                &method_arn,
                                identity,
                            ))
                        };
                        let decision =
                            Arc::new(lambda_call::invoke(functions, function, event).await?);
                        if let Some(cache) = cache.filter(|_| !ttl.is_zero()) {
                            let until = now_ms + ttl.as_millis() as u64;
                            cache.put(key, until, now_ms, decision.clone());
                        }
                        decision
                    }
                };
                if !decision.allows(&method_arn) {
                    return Err((denied, format!("the authorizer denied {method_arn}")));
                }
                Ok(Some(match decision.as_ref() {
                    Decision::Simple { context, .. } => AuthContext {
                        context: context.clone(),
                        ..AuthContext::default()
                    },
                    Decision::Policy {
                        principal_id,
                        context,
                        usage_identifier_key,
                        ..
                    } => AuthContext {
                        principal_id: principal_id.clone(),
                        context: context.clone(),
                        usage_identifier_key: usage_identifier_key.clone(),
                        ..AuthContext::default()
                    },
                }))
            }
            // Answered above, before the identity sources are read.
            AuthorizerKind::Iam(_) => Err((GatewayError::AuthorizerFailure, "unreachable".into())),
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

/// Verifies a JWT through the authorizer's cache of verified tokens, fetching a URL JWKS
/// only on a miss (and, rate-limited, when the token names an unknown `kid`).
async fn verify_jwt(
    token: &str,
    jwks: &JwksSource,
    issuer: &str,
    audiences: &[String],
    cache: Option<&jwt::VerifiedCache>,
    clock: &Clock,
) -> Result<Arc<jwt::Verified>, String> {
    let now = clock.now_millis() / 1000;
    if let Some(hit) = cache.and_then(|c| c.lookup(token, now)) {
        return hit.map_err(|e| e.to_string());
    }
    let keys = match jwks {
        JwksSource::File(keys) => keys.clone(),
        JwksSource::Url(remote) => {
            remote
                .keys_for(jwt::token_kid(token).as_deref(), clock)
                .await?
        }
    };
    let verified =
        Arc::new(jwt::verify(token, &keys, issuer, audiences, now).map_err(|e| e.to_string())?);
    if let Some(cache) = cache {
        cache.store(token, verified.clone(), now);
    }
    Ok(verified)
}
