//! JWKS fetched from a URL (`jwks_url`, or the `jwks_uri` of the issuer's OpenID discovery
//! document): cached, refetched when a token names a `kid` the cached set lacks — at most once per [`REFETCH_INTERVAL`] of Clock time, so a stream of
//! tokens with made-up `kid`s cannot make the gateway hammer the issuer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::document_fetch::DocumentClient;
use super::jwt::Jwks;
use crate::Clock;

/// The least Clock time between two fetches of the same JWKS.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS or discovery document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the keys are.
#[derive(Debug, Clone)]
pub enum JwksLocation {
    /// A JWKS URL.
    Url(http::Uri),
    /// The `jwks_uri` named by `{issuer}/.well-known/openid-configuration`, looked up on
    /// every fetch so a moved key set is followed.
    Discovery(http::Uri),
}

impl std::fmt::Display for JwksLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksLocation::Url(url) => write!(f, "JWKS {url}"),
            JwksLocation::Discovery(issuer) => write!(f, "JWKS of issuer {issuer}"),
        }
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<Jwks>>,
    last_fetch_ms: Option<u64>,
}

/// A JWKS behind a URL.
pub struct RemoteJwks {
    location: JwksLocation,
    state: Mutex<State>,
    // One fetch at a time: concurrent misses wait for it instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
    client: DocumentClient,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("location", &self.location)
            .finish()
    }
}

impl RemoteJwks {
    /// A JWKS fetched from `location` on first use, over a client trusting the system's
    /// CAs and `client`'s own.
    pub fn new(location: JwksLocation, client: DocumentClient) -> RemoteJwks {
        RemoteJwks {
            location,
            state: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
            client,
        }
    }

    fn cached(&self) -> (Option<Arc<Jwks>>, Option<u64>) {
        match self.state.lock() {
            Ok(s) => (s.keys.clone(), s.last_fetch_ms),
            Err(_) => (None, None),
        }
    }

    /// The keys to verify a token naming `kid` with: the cached set when it has the key,
    /// else a fresh fetch when the rate limit allows, else the cached set (the token then
    /// fails as having an unknown `kid`).
    pub async fn keys_for(&self, kid: Option<&str>, clock: &Clock) -> Result<Arc<Jwks>, String> {
        let (keys, _) = self.cached();
        if let Some(keys) = keys.as_ref().filter(|k| kid.is_none_or(|kid| k.has(kid))) {
            return Ok(keys.clone());
        }
        let _one_at_a_time = self.fetching.lock().await;
        let (keys, last_fetch_ms) = self.cached();
        if let Some(keys) = keys.as_ref().filter(|k| kid.is_none_or(|kid| k.has(kid))) {
            return Ok(keys.clone());
        }
        let now = clock.now_millis();
        let interval = REFETCH_INTERVAL.as_millis() as u64;
        if last_fetch_ms.is_some_and(|last| now < last.saturating_add(interval)) {
            return keys
                .ok_or_else(|| format!("{} unavailable; refetch rate-limited", self.location));
        }
        if let Ok(mut s) = self.state.lock() {
            s.last_fetch_ms = Some(now);
        }
        match self.fetch(clock).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                if let Ok(mut s) = self.state.lock() {
                    s.keys = Some(fresh.clone());
                }
                Ok(fresh)
            }
            Err(e) => {
                tracing::warn!(location = %self.location, error = %e, "fetching the JWKS failed");
                keys.ok_or(e)
            }
        }
    }

    async fn fetch(&self, clock: &Clock) -> Result<Jwks, String> {
        let fetch = async {
            let url = match &self.location {
                JwksLocation::Url(url) => url.clone(),
                JwksLocation::Discovery(issuer) => self.discover(issuer).await?,
            };
            let body = self.client.get(&url, MAX_JWKS_BYTES).await?;
            let text = std::str::from_utf8(&body).map_err(|_| format!("{url}: not UTF-8"))?;
            Jwks::parse(text).map_err(|e| format!("{url}: {e}"))
        };
        clock
            .timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("{}: no answer within {FETCH_TIMEOUT:?}", self.location))?
    }

    /// The `jwks_uri` of `issuer`'s OpenID discovery document.
    async fn discover(&self, issuer: &http::Uri) -> Result<http::Uri, String> {
        let discovery = discovery_url(issuer)?;
        let body = self.client.get(&discovery, MAX_JWKS_BYTES).await?;
        let document: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{discovery}: {e}"))?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("{discovery}: no `jwks_uri`"))?;
        match jwks_uri.parse::<http::Uri>() {
            Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) => Ok(uri),
            _ => Err(format!(
                "{discovery}: `jwks_uri` {jwks_uri:?} is not an http(s) URL"
            )),
        }
    }
}

/// `{issuer}/.well-known/openid-configuration`, as OpenID Connect Discovery builds it.
pub fn discovery_url(issuer: &http::Uri) -> Result<http::Uri, String> {
    let text = issuer.to_string();
    format!(
        "{}/.well-known/openid-configuration",
        text.trim_end_matches('/')
    )
    .parse()
    .map_err(|e| format!("issuer {issuer}: {e}"))
}
