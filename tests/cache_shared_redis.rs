//! Two real `portico serve` processes sharing one `redis-server` as the second level of a
//! stage cache: a response filled through one is served by the other, invalidations and
//! flushes through one reach both, and with Redis down the cache never refuses a request:
//! failing open, the cached route serves from each process and the function; failing
//! closed, the traffic layer refuses requests before the cache, cached or not.

mod redis_support;
mod store;

use std::time::Duration;

use redis_support::RedisServer;
use serde_json::Value;
use store::{Portico, TempDir};

fn config(url: &str, mode: &str) -> String {
    format!(
        r#"
[logs]
stdout = false
access_log = false

[store]
kind = "redis"
url = "{url}"
on_unavailable = "{mode}"

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
cache = {{ ttl = "300s", shared = true, invalidation_keys = ["inv-key"] }}

[[apis.shop.routes]]
route = "GET /items/{{id}}"
function = "echo"
cache = {{ key_parameters = ["method.request.path.id"] }}

[[apis.shop.routes]]
route = "GET /fresh"
function = "echo"
cache = {{ enabled = false }}
"#
    )
}

/// The request id `echo` saw: a response served from the cache repeats an old one.
async fn request_id(p: &Portico, path: &str, headers: &[(&str, &str)]) -> String {
    let (status, body) = p.send("GET", path, headers, "").await.expect("request");
    assert_eq!(status, 200, "{path} {headers:?}: {body}");
    id_of(&body)
}

fn id_of(body: &Value) -> String {
    body["requestContext"]["requestId"]
        .as_str()
        .unwrap_or_else(|| panic!("no request id in {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_redis_share_the_stage_cache() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("cache-shared-redis");
    let path = dir.write("gateway.toml", &config(&server.url(), "fail_open"));
    let a = Portico::start(&path);
    let b = Portico::start(&path);

    let filled = request_id(&a, "/prod/items/1", &[]).await;
    assert_eq!(request_id(&b, "/prod/items/1", &[]).await, filled);
    assert_eq!(request_id(&a, "/prod/items/1", &[]).await, filled);
    let other = request_id(&b, "/prod/items/2", &[]).await;
    assert_ne!(other, filled);
    assert_eq!(request_id(&a, "/prod/items/2", &[]).await, other);

    // An invalidation through A reaches B's in-process copy.
    let invalidate = [("cache-control", "max-age=0"), ("x-api-key", "inv-key")];
    let fresh = request_id(&a, "/prod/items/1", &invalidate).await;
    assert_ne!(fresh, filled);
    assert_eq!(request_id(&b, "/prod/items/1", &[]).await, fresh);

    // A flush through B reaches A.
    let (status, _) = b
        .send("DELETE", "/restapis/shop/stages/prod/cache/data", &[], "")
        .await
        .expect("flush");
    assert_eq!(status, 202);
    let refilled = request_id(&a, "/prod/items/1", &[]).await;
    assert_ne!(refilled, fresh);
    assert_eq!(request_id(&b, "/prod/items/1", &[]).await, refilled);

    // Redis down, failing open: the cached route serves from each process and the function.
    server.stop();
    assert_eq!(request_id(&a, "/prod/items/1", &[]).await, refilled);
    assert_eq!(request_id(&b, "/prod/items/1", &[]).await, refilled);
    let a3 = request_id(&a, "/prod/items/3", &[]).await;
    assert_eq!(request_id(&a, "/prod/items/3", &[]).await, a3);
    let b3 = request_id(&b, "/prod/items/3", &[]).await;
    assert_ne!(b3, a3, "nothing is shared while Redis is down");

    assert!(resumes_sharing(&mut server, &a, &b).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_closed_the_traffic_layer_refuses_before_the_cache() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = TempDir::new("cache-shared-redis-closed");
    let path = dir.write("gateway.toml", &config(&server.url(), "fail_closed"));
    let a = Portico::start(&path);
    let b = Portico::start(&path);
    let filled = request_id(&a, "/prod/items/1", &[]).await;
    assert_eq!(request_id(&b, "/prod/items/1", &[]).await, filled);
    server.stop();
    for p in [&a, &b] {
        for path in ["/prod/items/1", "/prod/fresh"] {
            let (status, body) = p.send("GET", path, &[], "").await.expect("request");
            assert_eq!(
                (status, body),
                (503, serde_json::json!({"message": "Service Unavailable"})),
                "{path}"
            );
        }
    }
    assert!(resumes_sharing(&mut server, &a, &b).await);
}

/// Restarts Redis (empty) and waits until a response filled through `a` is served by `b`.
async fn resumes_sharing(server: &mut RedisServer, a: &Portico, b: &Portico) -> bool {
    server.restart();
    for attempt in 0..100 {
        let path = format!("/prod/items/after-{attempt}");
        let (status, body) = a.send("GET", &path, &[], "").await.expect("request");
        if status == 200 {
            let (status, again) = b.send("GET", &path, &[], "").await.expect("request");
            if status == 200 && id_of(&again) == id_of(&body) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
