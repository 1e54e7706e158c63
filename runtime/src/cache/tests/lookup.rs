//! A lookup ahead of the fill: what it saw on a miss lets the fill skip looking again.

use super::*;

#[tokio::test]
async fn a_missed_lookup_hands_what_it_saw_to_the_fill() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, Some(10), &[]);
    let k = key(&route, &[], &HeaderMap::new());
    let now = || clock.now_millis();
    assert_eq!(
        stage.lookup(&route, &k, now()).await.err(),
        Some(Looked::Absent)
    );
    let (body, status) = stage
        .get_or_fill_after(&route, k.clone(), async { ok("a") }, Looked::Absent)
        .await;
    assert_eq!((body.body.as_ref(), status), (&b"a"[..], CacheStatus::Miss));
    let hit = stage.lookup(&route, &k, now()).await.ok();
    assert_eq!(hit.map(|r| r.body.clone()), Some(bytes::Bytes::from("a")));
    // Past its TTL the entry is stale: not served, and the fill replaces it.
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        stage.lookup(&route, &k, now()).await.err(),
        Some(Looked::Stale)
    );
    let (body, status) = stage
        .get_or_fill_after(&route, k.clone(), async { ok("b") }, Looked::Stale)
        .await;
    assert_eq!((body.body.as_ref(), status), (&b"b"[..], CacheStatus::Miss));
    assert_eq!(stage.metrics().stage, CacheCounts { hits: 1, misses: 2 });
}

#[tokio::test]
async fn a_route_with_caching_off_is_not_looked_up() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let off = route(&stage, Some(0), &[]);
    let k = key(&off, &[], &HeaderMap::new());
    assert_eq!(
        stage.lookup(&off, &k, clock.now_millis()).await.err(),
        Some(Looked::NotLooked)
    );
}
