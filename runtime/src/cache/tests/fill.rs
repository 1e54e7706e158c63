//! Hits, misses, expiry, capacity, invalidation and fill coalescing.

use super::*;

#[tokio::test]
async fn second_request_is_a_hit_and_counted() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &[]);
    let calls = AtomicUsize::new(0);
    let k = key(&route, &[], &HeaderMap::new());
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("a")).await,
        CacheStatus::Miss
    );
    let (body, status) = stage.get_or_fill(&route, k, async { ok("b") }).await;
    assert_eq!((body.body.as_ref(), status), (&b"a"[..], CacheStatus::Hit));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let metrics = stage.metrics();
    let counts = CacheCounts { hits: 1, misses: 1 };
    assert_eq!(metrics.stage, counts);
    assert_eq!(metrics.routes["GET /pets"], counts);
}

#[tokio::test]
async fn entries_expire_on_the_manual_clock() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, Some(10), &[]);
    let calls = AtomicUsize::new(0);
    let k = key(&route, &[], &HeaderMap::new());
    fetch(&stage, &route, k.clone(), &calls, ok("a")).await;
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("b")).await,
        CacheStatus::Hit
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        fetch(&stage, &route, k.clone(), &calls, ok("b")).await,
        CacheStatus::Miss
    );
    let (body, status) = stage.get_or_fill(&route, k, async { ok("c") }).await;
    assert_eq!((body.body.as_ref(), status), (&b"b"[..], CacheStatus::Hit));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn ttl_zero_bypasses_and_errors_or_big_items_are_not_stored() {
    let clock = clock();
    let stage = stage(&clock, 8 << 20);
    let calls = AtomicUsize::new(0);
    let off = route(&stage, Some(0), &[]);
    assert!(!off.caches(&Method::GET));
    let k = key(&off, &[], &HeaderMap::new());
    assert_eq!(
        fetch(&stage, &off, k.clone(), &calls, ok("a")).await,
        CacheStatus::Bypass
    );
    assert_eq!(
        fetch(&stage, &off, k, &calls, ok("a")).await,
        CacheStatus::Bypass
    );

    let on = route(&stage, None, &[]);
    let k = key(&on, &[], &HeaderMap::new());
    let error = CachedResponse::new(StatusCode::BAD_GATEWAY, "oops");
    let (body, status) = stage
        .get_or_fill(&on, k.clone(), async { error.clone() })
        .await;
    assert_eq!(
        (body.status, status),
        (StatusCode::BAD_GATEWAY, CacheStatus::Uncacheable)
    );
    let big = CachedResponse::new(StatusCode::OK, vec![0u8; MAX_ITEM_BYTES + 1]);
    assert_eq!(
        fetch(&stage, &on, k.clone(), &calls, big).await,
        CacheStatus::Uncacheable
    );
    assert_eq!(
        fetch(&stage, &on, k, &calls, ok("fine")).await,
        CacheStatus::Miss
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(stage.entry_count().await, 1);
}

#[tokio::test]
async fn weighted_size_stays_under_capacity() {
    let clock = clock();
    let capacity = 20_000;
    let stage = stage(&clock, capacity);
    let route = route(&stage, None, &["method.request.querystring.n"]);
    let calls = AtomicUsize::new(0);
    for n in 0..100 {
        let n = n.to_string();
        let k = key(&route, &[("n", &n)], &HeaderMap::new());
        let body = CachedResponse::new(StatusCode::OK, vec![b'x'; 1_000]);
        fetch(&stage, &route, k, &calls, body).await;
    }
    let size = stage.weighted_size().await;
    assert!(size <= capacity, "weighted size {size} over {capacity}");
    assert!(
        size > capacity / 2,
        "cache should still hold entries, has {size}"
    );
    assert!(stage.entry_count().await < 100);
}

#[tokio::test]
async fn invalidate_one_key_and_flush_all() {
    let clock = clock();
    let stage = stage(&clock, 1 << 20);
    let route = route(&stage, None, &["method.request.querystring.n"]);
    let calls = AtomicUsize::new(0);
    let a = key(&route, &[("n", "a")], &HeaderMap::new());
    let b = key(&route, &[("n", "b")], &HeaderMap::new());
    fetch(&stage, &route, a.clone(), &calls, ok("a")).await;
    fetch(&stage, &route, b.clone(), &calls, ok("b")).await;
    stage.invalidate(&a).await;
    assert_eq!(
        fetch(&stage, &route, a.clone(), &calls, ok("a")).await,
        CacheStatus::Miss
    );
    assert_eq!(
        fetch(&stage, &route, b.clone(), &calls, ok("b")).await,
        CacheStatus::Hit
    );
    stage.flush();
    assert_eq!(
        fetch(&stage, &route, a, &calls, ok("a")).await,
        CacheStatus::Miss
    );
    assert_eq!(
        fetch(&stage, &route, b, &calls, ok("b")).await,
        CacheStatus::Miss
    );
}

#[tokio::test]
async fn hundred_concurrent_misses_fill_once() {
    let clock = clock();
    let stage = Arc::new(stage(&clock, 1 << 20));
    let route = Arc::new(route(&stage, None, &[]));
    let calls = Arc::new(AtomicUsize::new(0));
    let k = key(&route, &[], &HeaderMap::new());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (stage, route, calls, k) = (stage.clone(), route.clone(), calls.clone(), k.clone());
            tokio::spawn(async move {
                let fill = async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..50 {
                        tokio::task::yield_now().await;
                    }
                    ok("once")
                };
                stage.get_or_fill(&route, k, fill).await
            })
        })
        .collect();
    let mut misses = 0;
    for task in tasks {
        let (body, status) = task.await.unwrap();
        assert_eq!(body.body.as_ref(), b"once");
        misses += usize::from(status == CacheStatus::Miss);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(misses, 1);
    assert_eq!(
        stage.metrics().stage,
        CacheCounts {
            hits: 99,
            misses: 1
        }
    );
}

#[tokio::test]
async fn concurrent_misses_share_an_uncacheable_fill() {
    let clock = clock();
    let stage = Arc::new(stage(&clock, 1 << 20));
    let route = Arc::new(route(&stage, None, &[]));
    let calls = Arc::new(AtomicUsize::new(0));
    let k = key(&route, &[], &HeaderMap::new());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (stage, route, calls, k) = (stage.clone(), route.clone(), calls.clone(), k.clone());
            tokio::spawn(async move {
                let fill = async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..50 {
                        tokio::task::yield_now().await;
                    }
                    CachedResponse::new(StatusCode::BAD_GATEWAY, "down")
                };
                stage.get_or_fill(&route, k, fill).await
            })
        })
        .collect();
    for task in tasks {
        let (body, status) = task.await.unwrap();
        assert_eq!(
            (body.status, status),
            (StatusCode::BAD_GATEWAY, CacheStatus::Uncacheable)
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(stage.entry_count().await, 0);
}
