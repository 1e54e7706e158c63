//! JWT authorizers: signature against a JWKS (asymmetric keys only), issuer, audience,
//! expiry and not-before on the gateway's Clock, and scopes.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Malformed, unsigned, wrong algorithm, unknown key or bad signature.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// `exp` is past or missing.
    #[error("the token has expired")]
    Expired,
    /// `nbf` / `iat` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` differs.
    #[error("wrong issuer")]
    Issuer,
    /// No `aud` (or `client_id`) matches.
    #[error("wrong audience")]
    Audience,
}

/// The keys of a JWKS, by `kid`, with the algorithms each may verify.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: HashMap<String, (DecodingKey, Vec<Algorithm>)>,
}

impl Jwks {
    /// Parses a JWKS document; symmetric (`oct`) keys are refused, as is a key without `kid`.
    pub fn parse(text: &str) -> Result<Jwks, String> {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().ok_or("every key needs a `kid`")?;
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
            let family = key.family();
            if family == jsonwebtoken::AlgorithmFamily::Hmac {
                return Err(format!(
                    "key `{kid}`: symmetric keys cannot verify tokens from an issuer"
                ));
            }
            let algorithms = match jwk.common.key_algorithm {
                Some(alg) => {
                    let alg: Algorithm = alg
                        .to_string()
                        .parse()
                        .map_err(|_| format!("key `{kid}`: unsupported `alg`"))?;
                    vec![alg]
                }
                None => family.algorithms().to_vec(),
            };
            keys.insert(kid, (key, algorithms));
        }
        if keys.is_empty() {
            return Err("the JWKS has no keys".into());
        }
        Ok(Jwks { keys })
    }
}

impl Jwks {
    /// Whether the set holds the key `kid`.
    pub fn has(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }
}

/// Where a JWT authorizer's keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// Read from a file at config load.
    File(std::sync::Arc<Jwks>),
    /// Fetched from a URL, cached and refreshed on an unknown `kid`.
    Url(std::sync::Arc<super::jwks_remote::RemoteJwks>),
}

/// The token without a `Bearer ` prefix.
fn bare(token: &str) -> &str {
    token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim()
}

/// The `kid` a token's header names, if it parses.
pub fn token_kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(bare(token)).ok()?.kid
}

/// A verified token's claims and scopes.
#[derive(Debug, Clone)]
pub struct Verified {
    /// `exp`, in seconds since the epoch.
    pub exp: u64,
    /// Every claim, strings as-is and other values as JSON text (as API Gateway passes them).
    pub claims: HashMap<String, String>,
    /// The `scope` / `scp` claim, split.
    pub scopes: Vec<String>,
}

/// Verifies `token` (a bare JWT, or `Bearer <jwt>`) at `now_secs`.
pub fn verify(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    audiences: &[String],
    now_secs: u64,
) -> Result<Verified, JwtError> {
    let token = bare(token);
    let invalid = |e: jsonwebtoken::errors::Error| JwtError::Invalid(e.to_string());
    // `alg: none` does not parse as an Algorithm, so it fails here.
    let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| JwtError::Invalid("no `kid`".into()))?;
    let (key, algorithms) = jwks
        .keys
        .get(kid)
        .ok_or_else(|| JwtError::Invalid(format!("unknown `kid` {kid}")))?;
    // Only the key's own algorithms: an HS256 token "signed" with the public key is refused.
    if !algorithms.contains(&header.alg) {
        return Err(JwtError::Invalid(format!(
            "{:?} does not fit the key",
            header.alg
        )));
    }
    let mut validation = Validation::new(header.alg);
    validation.algorithms = algorithms.clone();
    // Time is checked below on the gateway's clock; issuer and audience too, for AWS's rules.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(invalid)?;
    let claims = data.claims;
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(JwtError::Expired)?;
    if now_secs >= exp {
        return Err(JwtError::Expired);
    }
    for early in ["nbf", "iat"] {
        if let Some(t) = claims.get(early) {
            if t.as_u64().is_none_or(|t| t > now_secs) {
                return Err(JwtError::NotYetValid);
            }
        }
    }
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(JwtError::Issuer);
    }
    // API Gateway accepts `aud`, or `client_id` for access tokens without `aud`.
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
        _ => claims
            .get("client_id")
            .and_then(Value::as_str)
            .is_some_and(|c| audiences.iter().any(|x| x == c)),
    };
    if !aud_ok {
        return Err(JwtError::Audience);
    }
    let scopes = match claims.get("scope").or_else(|| claims.get("scp")) {
        Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let claims = claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    Ok(Verified {
        exp,
        claims,
        scopes,
    })
}

/// Tokens already verified, by their exact text, until their `exp`: a repeated token costs a
/// map lookup instead of an RSA verification. Any change to the text (a tampered claim or
/// signature) is a different key, and expiry is checked on every hit.
#[derive(Default)]
pub struct VerifiedCache {
    entries: std::sync::Mutex<HashMap<Box<str>, std::sync::Arc<Verified>>>,
}

/// Entries kept before expired ones are dropped (and, if still full, all of them).
const CACHE_LIMIT: usize = 10_000;

impl VerifiedCache {
    /// A token verified before: `Some(Ok)` while unexpired, `Some(Err(Expired))` after.
    pub fn lookup(
        &self,
        token: &str,
        now_secs: u64,
    ) -> Option<Result<std::sync::Arc<Verified>, JwtError>> {
        let hit = self
            .entries
            .lock()
            .ok()
            .and_then(|entries| entries.get(token).cloned())?;
        if now_secs >= hit.exp {
            return Some(Err(JwtError::Expired));
        }
        Some(Ok(hit))
    }

    /// Remembers a verified token.
    pub fn store(&self, token: &str, verified: std::sync::Arc<Verified>, now_secs: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_LIMIT {
                entries.retain(|_, v| now_secs < v.exp);
                if entries.len() >= CACHE_LIMIT {
                    entries.clear();
                }
            }
            entries.insert(token.into(), verified);
        }
    }
}

/// Verifies a JWT through the authorizer's cache of verified tokens, fetching a URL JWKS
/// only on a miss (and, rate-limited, when the token names an unknown `kid`).
pub async fn verify_cached(
    token: &str,
    jwks: &JwksSource,
    issuer: &str,
    audiences: &[String],
    cache: Option<&VerifiedCache>,
    clock: &crate::Clock,
) -> Result<std::sync::Arc<Verified>, String> {
    let now = clock.now_millis() / 1000;
    if let Some(hit) = cache.and_then(|c| c.lookup(token, now)) {
        return hit.map_err(|e| e.to_string());
    }
    let keys = match jwks {
        JwksSource::File(keys) => keys.clone(),
        JwksSource::Url(remote) => remote.keys_for(token_kid(token).as_deref(), clock).await?,
    };
    let verified = std::sync::Arc::new(
        verify(token, &keys, issuer, audiences, now).map_err(|e| e.to_string())?,
    );
    if let Some(cache) = cache {
        cache.store(token, verified.clone(), now);
    }
    Ok(verified)
}
