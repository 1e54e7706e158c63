//! Authorization at the front door: resource policies (source IP), CORS, JWT authorizers
//! and Lambda authorizers (TOKEN / REQUEST, with a result cache on the gateway's Clock).
//!
//! [`ApiAuth`] is built once per API; [`ApiAuth::authorize`] runs in the pipeline after route
//! match and before admission (API key, throttles).

pub mod cors;
pub mod event;
pub mod gateway_responses;
pub mod jwt;
pub mod lambda_authorizer;
pub mod policy;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};
use serde_json::{Map, Value};

pub use cors::CorsConfig;
pub use jwt::Jwks;
pub use policy::IpPolicy;

use crate::config::auth::{ApiAuthConfig, RouteAuth};
use crate::gateway::error::GatewayError;
use crate::invoke::{Function, Invocation, Payload, ACCOUNT_ID, REGION};
use crate::Clock;
use lambda_authorizer::{Decision, RequestFacts, ResultCache};

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
        jwks: Jwks,
    },
    /// A Lambda authorizer.
    Lambda {
        /// The function invoked.
        function: String,
        /// TOKEN (true) or REQUEST.
        token: bool,
        /// Result cache lifetime; zero disables the cache.
        ttl: Duration,
    },
}

/// One identity source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header (lowercase name).
    Header(String),
    /// A query string parameter.
    Query(String),
    /// A stage variable.
    StageVariable(String),
}

impl IdentitySource {
    /// Parses `$request.header.X`, `$request.querystring.X`, `$stageVariables.X` and REST's
    /// `method.request.header.X` / `method.request.querystring.X` / `stageVariables.X`.
    pub fn parse(text: &str) -> Option<IdentitySource> {
        let text = text.strip_prefix('$').unwrap_or(text);
        let text = text.strip_prefix("method.").unwrap_or(text);
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        if let Some(h) = text.strip_prefix("request.header.") {
            return nonempty(&h.to_ascii_lowercase()).map(IdentitySource::Header);
        }
        if let Some(q) = text.strip_prefix("request.querystring.") {
            return nonempty(q).map(IdentitySource::Query);
        }
        text.strip_prefix("stageVariables.")
            .and_then(nonempty)
            .map(IdentitySource::StageVariable)
    }
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

type Refusal = (GatewayError, String);

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
        let Some(decl) = self.config.authorizers.get(&route.authorizer) else {
            return Err((GatewayError::AuthorizerFailure, "authorizer missing".into()));
        };
        let identity = identity_values(&decl.identity_source, req)?;
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
                let now = clock.now_millis() / 1000;
                let token = identity.first().map(String::as_str).unwrap_or("");
                let verified = match self.tokens.get(&decl.name) {
                    Some(cache) => cache.verify(token, jwks, issuer, audiences, now),
                    None => jwt::verify(token, jwks, issuer, audiences, now).map(Arc::new),
                }
                .map_err(|e| (GatewayError::Unauthorized, e.to_string()))?;
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
            } => {
                let method_arn = format!(
                    "arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{}/{}/{}/{}",
                    req.api_id,
                    req.stage,
                    req.method,
                    req.stage_path.trim_start_matches('/')
                );
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
                            lambda_authorizer::request_event(facts(req, &method_arn, identity))
                        };
                        let decision = Arc::new(invoke(functions, function, event).await?);
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
                        jwt: None,
                    },
                }))
            }
        }
    }
}

fn identity_values(
    sources: &[IdentitySource],
    req: &AuthRequest<'_>,
) -> Result<Vec<String>, Refusal> {
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let value = match source {
            IdentitySource::Header(h) => req
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            IdentitySource::Query(q) => form_urlencoded::parse(req.query.as_bytes())
                .find(|(k, _)| k == q)
                .map(|(_, v)| v.into_owned()),
            IdentitySource::StageVariable(s) => req.stage_variables.get(s).cloned(),
        };
        match value {
            Some(v) if !v.is_empty() => out.push(v),
            _ => {
                return Err((
                    GatewayError::Unauthorized,
                    format!("identity source {source:?} is missing"),
                ))
            }
        }
    }
    Ok(out)
}

fn facts<'a>(
    req: &'a AuthRequest<'a>,
    method_arn: &'a str,
    identity: Vec<String>,
) -> RequestFacts<'a> {
    let headers = req
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), Value::from(v.to_str().ok()?))))
        .collect();
    let query = form_urlencoded::parse(req.query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    let stage_variables = req
        .stage_variables
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    RequestFacts {
        method_arn,
        method: req.method.as_str(),
        resource: req.resource,
        path: req.stage_path,
        headers,
        query,
        stage_variables,
        identity,
        http_api: req.http_api,
        stage: req.stage,
        api_id: req.api_id,
        source_ip: req.source_ip.to_string(),
    }
}

async fn invoke(
    functions: &HashMap<String, Arc<Function>>,
    name: &str,
    event: Value,
) -> Result<Decision, Refusal> {
    let Some(function) = functions.get(name) else {
        return Err((
            GatewayError::AuthorizerFailure,
            format!("authorizer function `{name}` is not running"),
        ));
    };
    let outcome = function.invoke(Invocation::new(Payload::Json(event))).await;
    match outcome.result {
        // A Lambda authorizer refuses by failing with the message "Unauthorized".
        Err(e) if e.error_message == "Unauthorized" => Err((
            GatewayError::Unauthorized,
            "the authorizer answered Unauthorized".into(),
        )),
        Err(e) => Err((
            GatewayError::AuthorizerFailure,
            format!("authorizer `{name}` failed: {}", e.error_message),
        )),
        Ok(payload) => payload
            .into_value()
            .ok()
            .as_ref()
            .and_then(Decision::parse)
            .ok_or_else(|| {
                (
                    GatewayError::AuthorizerFailure,
                    format!("authorizer `{name}` answered neither a policy nor a simple response"),
                )
            }),
    }
}
