//! JWKS fetched from a URL (`jwks_url`): cached, refetched when a token names a `kid` the
//! cached set lacks — at most once per [`REFETCH_INTERVAL`] of Clock time, so a stream of
//! tokens with made-up `kid`s cannot make the gateway hammer the issuer.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::jwt::Jwks;
use crate::Clock;

/// The least Clock time between two fetches of the same JWKS.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

#[derive(Default)]
struct State {
    keys: Option<Arc<Jwks>>,
    last_fetch_ms: Option<u64>,
}

/// A JWKS behind a URL.
pub struct RemoteJwks {
    url: http::Uri,
    state: Mutex<State>,
    // One fetch at a time: concurrent misses wait for it instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
    client: OnceLock<Client<HttpConnector, Empty<Bytes>>>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.url)
            .finish()
    }
}

impl RemoteJwks {
    /// A JWKS fetched from `url` (an `http://` URL) on first use.
    pub fn new(url: http::Uri) -> RemoteJwks {
        RemoteJwks {
            url,
            state: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
            client: OnceLock::new(),
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
                .ok_or_else(|| format!("JWKS {} unavailable; refetch rate-limited", self.url));
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
                tracing::warn!(url = %self.url, error = %e, "fetching the JWKS failed");
                keys.ok_or(e)
            }
        }
    }

    async fn fetch(&self, clock: &Clock) -> Result<Jwks, String> {
        let client = self
            .client
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(HttpConnector::new()));
        let request = http::Request::get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| format!("JWKS {}: {e}", self.url))?;
        let fetch = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("JWKS {}: {e}", self.url))?;
            if !response.status().is_success() {
                return Err(format!("JWKS {}: status {}", self.url, response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| format!("JWKS {}: {e}", self.url))?
                .to_bytes();
            let text = std::str::from_utf8(&body).map_err(|_| "JWKS is not UTF-8".to_owned())?;
            Jwks::parse(text).map_err(|e| format!("JWKS {}: {e}", self.url))
        };
        clock
            .timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("JWKS {}: no answer within {FETCH_TIMEOUT:?}", self.url))?
    }
}
