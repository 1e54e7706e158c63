//! The cache-hit floor: a bare hyper server that does only the work issue 6 mandates for a
//! hit, and nothing Portico adds (no routing table, stages, throttles, key parameters,
//! metrics, access log or traces). Per request it builds the key (method and resource path),
//! looks it up in a `moka` cache with a byte weigher and a TTL, and answers the stored status,
//! headers and body. What it costs over bare hyper bounds the ratio any implementation of the
//! issue can reach on a machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

/// A stored response: status, headers and body, shared by every hit.
struct Stored {
    status: hyper::StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// Serves every GET from the cache on 127.0.0.1:0; a miss stores `body` first.
pub async fn serve(body: &'static [u8]) -> SocketAddr {
    let cache: moka::future::Cache<String, Arc<Stored>> = moka::future::Cache::builder()
        .max_capacity(500_000_000)
        .weigher(|key: &String, value: &Arc<Stored>| {
            (key.len() + value.body.len() + 64)
                .try_into()
                .unwrap_or(u32::MAX)
        })
        .time_to_live(Duration::from_secs(3600))
        .build();
    super::serve_fn(move |req, _remote| {
        let cache = cache.clone();
        async move {
            let key = format!("{} {}", req.method(), req.uri().path());
            let stored = cache
                .get_with(key, async {
                    let mut headers = hyper::HeaderMap::new();
                    headers.insert(
                        "content-type",
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Arc::new(Stored {
                        status: hyper::StatusCode::OK,
                        headers,
                        body: Bytes::from_static(body),
                    })
                })
                .await;
            let mut res = hyper::Response::new(Full::new(stored.body.clone()));
            *res.status_mut() = stored.status;
            *res.headers_mut() = stored.headers.clone();
            res
        }
    })
    .await
}
