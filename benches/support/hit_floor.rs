//! The cache-hit floor: a bare hyper server that does only the work issue 6 mandates for a
//! hit, and nothing Portico adds (no routing table, stages, throttles, key parameters,
//! metrics, access log or traces). Per request it builds the key (method and resource path),
//! looks it up in a `moka` cache with a byte weigher and a TTL, and answers the stored status,
//! headers and body. What it costs over bare hyper bounds the ratio any implementation of the
//! issue can reach on a machine. The logged floor (`serve_logged`) also keeps the access-log
//! line and the hit count issue 6 mandates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use portico_runtime::observe::ids;

use super::floor_log::{self, AccessLog, Entry};

/// A stored response: status, headers and body, shared by every hit.
struct Stored {
    status: hyper::StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// Serves every GET from the cache on 127.0.0.1:0; a miss stores `body` first.
pub async fn serve(body: &'static [u8]) -> SocketAddr {
    let cache = cache();
    super::serve_fn(move |req, _remote| {
        let cache = cache.clone();
        async move {
            let (stored, _) = lookup(&cache, &req, body).await;
            respond(&stored)
        }
    })
    .await
}

/// Like `serve`, and also keeps what issue 6 mandates be logged: the access-log line with
/// hit or miss, and CacheHitCount, kept as `floor_log` keeps them.
pub async fn serve_logged(body: &'static [u8]) -> SocketAddr {
    let cache = cache();
    super::serve_fn(move |req, remote: SocketAddr| {
        let cache = cache.clone();
        async move {
            let now_ms = floor_log::now_ms();
            let request_id = ids::uuid();
            let (stored, hit) = lookup(&cache, &req, body).await;
            if hit {
                floor_log::count_hit();
            }
            let res = respond(&stored);
            floor_log::keep(Entry::Access(AccessLog::of(
                &req,
                remote,
                (now_ms, request_id),
                (res.status().as_u16(), stored.body.len() as u64),
                Some(hit),
            )));
            res
        }
    })
    .await
}

type Cache = moka::future::Cache<String, Arc<Stored>>;

fn cache() -> Cache {
    moka::future::Cache::builder()
        .max_capacity(500_000_000)
        .weigher(|key: &String, value: &Arc<Stored>| {
            (key.len() + value.body.len() + 64)
                .try_into()
                .unwrap_or(u32::MAX)
        })
        .time_to_live(Duration::from_secs(3600))
        .build()
}

/// The stored response for the request's key, and whether it was a hit.
async fn lookup<B>(
    cache: &Cache,
    req: &hyper::Request<B>,
    body: &'static [u8],
) -> (Arc<Stored>, bool) {
    let key = format!("{} {}", req.method(), req.uri().path());
    let mut hit = true;
    let stored = cache
        .get_with(key, async {
            hit = false;
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
    (stored, hit)
}

fn respond(stored: &Stored) -> hyper::Response<Full<Bytes>> {
    let mut res = hyper::Response::new(Full::new(stored.body.clone()));
    *res.status_mut() = stored.status;
    *res.headers_mut() = stored.headers.clone();
    res
}
