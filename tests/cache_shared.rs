//! The shared second level (`shared = true`): two replicas on one store share entries,
//! expiry, invalidation and flushes; oversized and unreadable records are misses.

mod cache_support;
mod common;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_support::shared::{replica, shared_entries, shared_toml};
use cache_support::{call_of, calls, clock, registry};
use common::TestStack;
use portico_runtime::store::{MemoryStore, Store};
use portico_runtime::{Clock, Registry};

struct Pair {
    a: TestStack,
    b: TestStack,
    store: Arc<MemoryStore>,
    registry: Registry,
    counter: Arc<AtomicUsize>,
    clock: Clock,
}

/// Two replicas of the shared-cache config on one memory store and one manual clock; both
/// call the same counting function, so `counter` counts integration calls across replicas.
async fn pair(toml: &str) -> Pair {
    let (registry, counter) = registry(None);
    let clock = clock();
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let a = replica(toml, &registry, store.clone(), &clock).await;
    let b = replica(toml, &registry, store.clone(), &clock).await;
    Pair {
        a,
        b,
        store,
        registry,
        counter,
        clock,
    }
}

async fn call(stack: &TestStack, path: &str, headers: &[(&str, &str)]) -> u64 {
    let r = stack.request("GET", path, headers, "").await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    call_of(&r.json())
}

#[tokio::test]
async fn a_response_filled_on_one_replica_is_a_hit_on_the_other() {
    let p = pair(&shared_toml()).await;
    let path = "/dev/items/7?page=2";
    let filled =
        p.a.request("GET", path, &[("accept", "text/plain")], "")
            .await;
    assert_eq!(filled.status, 200);
    let served =
        p.b.request("GET", path, &[("accept", "text/plain")], "")
            .await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.body, filled.body,
        "the body round-trips byte for byte"
    );
    for name in ["content-type", "x-from"] {
        assert_eq!(served.header(name), filled.header(name), "{name}");
    }
    assert_eq!(
        calls(&p.counter),
        1,
        "the integration ran once for both replicas"
    );
    // Key parameters still split entries across replicas.
    assert_ne!(
        call(&p.b, "/dev/items/7?page=3", &[]).await,
        call_of(&filled.json())
    );
    assert_eq!(calls(&p.counter), 2);
    assert_eq!(call(&p.a, "/dev/items/7?page=3", &[]).await, 2);
    assert_eq!(calls(&p.counter), 2);
    let stage = &p.b.stack.cache_metrics()[0];
    let shared = stage.metrics().shared.expect("shared counts");
    assert_eq!((shared.hits, shared.errors), (1, 0));
    assert_eq!(stage.metrics().stage.hits, 1);
}

#[tokio::test]
async fn an_entry_expires_at_the_end_of_its_ttl_on_every_replica() {
    let p = pair(&shared_toml()).await;
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    p.clock.advance(Duration::from_secs(40));
    // B takes A's entry with A's expiry (60 s from the fill), not a fresh TTL.
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 1);
    p.clock.advance(Duration::from_secs(19));
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 1);
    p.clock.advance(Duration::from_secs(1));
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 2);
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 2);
    // A route's own TTL holds in the store too.
    assert_eq!(call(&p.a, "/dev/short", &[]).await, 3);
    p.clock.advance(Duration::from_secs(10));
    assert_eq!(call(&p.b, "/dev/short", &[]).await, 4);
    assert_eq!(calls(&p.counter), 4);
}

#[tokio::test]
async fn an_invalidation_through_one_replica_is_seen_by_the_other() {
    let p = pair(&shared_toml()).await;
    assert_eq!(call(&p.a, "/dev/items/1", &[]).await, 1);
    assert_eq!(call(&p.b, "/dev/items/1", &[]).await, 1);
    assert_eq!(call(&p.b, "/dev/items/2", &[]).await, 2);
    let invalidate = [("cache-control", "max-age=0"), ("x-api-key", "inv-key")];
    assert_eq!(call(&p.a, "/dev/items/1", &invalidate).await, 3);
    // B held the old response in process; the invalidation reaches it.
    assert_eq!(call(&p.b, "/dev/items/1", &[]).await, 3);
    assert_eq!(call(&p.a, "/dev/items/1", &[]).await, 3);
    // Other entries are kept.
    assert_eq!(call(&p.a, "/dev/items/2", &[]).await, 2);
    assert_eq!(call(&p.b, "/dev/items/2", &[]).await, 2);
    // An unauthorized invalidation changes nothing anywhere.
    let r = p.a.request("GET", "/dev/strict", &[], "").await;
    assert_eq!(call_of(&r.json()), 4);
    let r =
        p.a.request("GET", "/dev/strict", &[("cache-control", "max-age=0")], "")
            .await;
    assert_eq!(r.status, 403);
    assert_eq!(call(&p.b, "/dev/strict", &[]).await, 4);
    assert_eq!(calls(&p.counter), 4);
}

#[tokio::test]
async fn a_flush_through_one_replica_is_seen_by_the_other() {
    let p = pair(&shared_toml()).await;
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 1);
    assert_eq!(call(&p.b, "/dev/short", &[]).await, 2);
    let r =
        p.a.request("DELETE", "/restapis/shop/stages/dev/cache/data", &[], "")
            .await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 3);
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 3);
    assert_eq!(call(&p.a, "/dev/short", &[]).await, 4);
    assert_eq!(call(&p.b, "/dev/short", &[]).await, 4);
    assert_eq!(calls(&p.counter), 4);
    // The prod stage has no cache: the flush is refused as before and changes nothing.
    let r =
        p.b.request("DELETE", "/restapis/shop/stages/prod/cache/data", &[], "")
            .await;
    assert_eq!(r.status, 400);
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 3);
}

#[tokio::test]
async fn oversized_and_failed_responses_are_not_stored() {
    let p = pair(&shared_toml()).await;
    let big = "/dev/all/1?size=1100000";
    assert_eq!(call(&p.a, big, &[]).await, 1);
    assert_eq!(call(&p.b, big, &[]).await, 2);
    let r = p.a.request("GET", "/dev/all/2?status=500", &[], "").await;
    assert_eq!(r.status, 500);
    assert!(shared_entries(&*p.store).await.is_empty());
    // Just under the limit is stored and shared.
    assert_eq!(call(&p.a, "/dev/all/3?size=900000", &[]).await, 4);
    assert_eq!(call(&p.b, "/dev/all/3?size=900000", &[]).await, 4);
    assert_eq!(shared_entries(&*p.store).await.len(), 1);
}

#[tokio::test]
async fn an_unreadable_record_is_a_miss_and_is_replaced() {
    let p = pair(&shared_toml()).await;
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    let entries = shared_entries(&*p.store).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (key, good) = entries[0].clone();
    let mut other_version = good.to_vec();
    other_version[3] = 2;
    let mut bad_status = good.to_vec();
    // After "PCR", the version and the expiry: the status.
    bad_status[12..14].copy_from_slice(&9999u16.to_be_bytes());
    let mut longer = good.to_vec();
    longer.push(0);
    let unreadable = [
        Bytes::from_static(b"not a record"),
        Bytes::new(),
        Bytes::from(other_version),
        good.slice(..good.len() - 1),
        Bytes::from(longer),
        Bytes::from(bad_status),
        Bytes::from_static(b"PCR\x01\xff\xff\xff\xff\xff\xff\xff\xff\x00\xc8\xff\xff\xff\xff"),
    ];
    let expires = Some(p.clock.now() + Duration::from_secs(60));
    for (i, bytes) in unreadable.into_iter().enumerate() {
        p.store.put(&key, bytes, expires).await.expect("put");
        // A fresh replica has nothing in process: it reads the record, misses and refills.
        let fresh = replica(&shared_toml(), &p.registry, p.store.clone(), &p.clock).await;
        let call_number = 2 + i as u64;
        assert_eq!(
            call(&fresh, "/dev/all/1", &[]).await,
            call_number,
            "record {i}"
        );
        // The refill replaced the record with a readable one, which the other replica takes.
        let other = replica(&shared_toml(), &p.registry, p.store.clone(), &p.clock).await;
        assert_eq!(
            call(&other, "/dev/all/1", &[]).await,
            call_number,
            "record {i}"
        );
    }
    assert_eq!(calls(&p.counter), 8);
    // A still serves its own copy; the store never failed, it only held junk.
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    let shared = p.a.stack.cache_metrics()[0]
        .metrics()
        .shared
        .expect("shared");
    assert_eq!(shared.errors, 0);
}

#[tokio::test]
async fn without_shared_nothing_is_written_to_the_store_and_replicas_do_not_share() {
    let p = pair(cache_support::TOML).await;
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    assert_eq!(call(&p.a, "/dev/all/1", &[]).await, 1);
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 2);
    let r =
        p.a.request("DELETE", "/restapis/shop/stages/dev/cache/data", &[], "")
            .await;
    assert_eq!(r.status, 202);
    assert_eq!(call(&p.b, "/dev/all/1", &[]).await, 2);
    assert!(shared_entries(&*p.store).await.is_empty());
    assert!(p
        .store
        .list("")
        .await
        .expect("list")
        .iter()
        .all(|(k, _)| !k.starts_with("cache/")));
    assert_eq!(p.a.stack.cache_metrics()[0].metrics().shared, None);
}
