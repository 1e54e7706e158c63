//! `RedisStore` against a real `redis-server`: the same contract as the memory store, the
//! Lua checks under concurrency, and bad input.

mod redis_support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use portico_runtime::config::OnUnavailable;
use portico_runtime::observe::metrics::Metrics;
use portico_runtime::store::redis::{connect, RedisOptions, RedisStore};
use portico_runtime::store::{CounterDecision, Store, StoreError, TokenDecision};
use portico_runtime::Clock;
use redis_support::RedisServer;

async fn store(server: &RedisServer, namespace: &str) -> Arc<RedisStore> {
    let options = RedisOptions {
        namespace: namespace.to_owned(),
        ..RedisOptions::default()
    };
    Arc::new(
        connect(&server.url(), options, Clock::system())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_limit_of_256_concurrent_increments_succeed() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = store(&server, "t1").await;
    let limit = 100;
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let tasks: Vec<_> = (0..256)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.incr_if_below("q", limit, Some(expires)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if let CounterDecision::Incremented(_) = task.await.unwrap().unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, limit);
    assert_eq!(store.get_counter("q").await.unwrap(), limit);
    assert_eq!(
        store.incr_if_below("q", limit, None).await.unwrap(),
        CounterDecision::AtLimit(limit)
    );
    assert_eq!(store.add_counter("q", 5, None).await.unwrap(), limit + 5);
    assert!(store.is_shared());
}

#[tokio::test]
async fn records_round_trip_expire_list_by_prefix_and_stay_in_their_namespace() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let other = store(&server, "t2-other").await;
    let store = store(&server, "t2").await;
    let later = SystemTime::now() + Duration::from_secs(3600);
    store
        .put("rec/b", Bytes::from_static(b"2"), Some(later))
        .await
        .unwrap();
    store
        .put("rec/a", Bytes::from_static(b"1"), None)
        .await
        .unwrap();
    store
        .put("rec*/x", Bytes::from_static(b"glob"), None)
        .await
        .unwrap();
    store.add_counter("rec/counter", 1, None).await.unwrap();
    // An instant already past: the record is gone at once.
    let past = SystemTime::now() - Duration::from_secs(1);
    store
        .put("rec/old", Bytes::from_static(b"0"), Some(past))
        .await
        .unwrap();
    assert_eq!(store.get("rec/old").await.unwrap(), None);
    assert_eq!(
        store.get("rec/a").await.unwrap().unwrap(),
        Bytes::from_static(b"1")
    );
    let listed = store.list("rec/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["rec/a", "rec/b"],
        "counters and other prefixes are skipped"
    );
    assert_eq!(
        store.list("rec*").await.unwrap().len(),
        1,
        "glob characters are literal"
    );
    assert!(
        other.list("rec").await.unwrap().is_empty(),
        "namespaces are apart"
    );
    assert!(store.delete("rec/a").await.unwrap());
    assert!(!store.delete("rec/a").await.unwrap());
    // A record replaces a counter and the other way round is refused, never a panic.
    assert!(matches!(
        store.get_counter("rec/b").await,
        Err(StoreError::WrongType { .. })
    ));
    assert!(matches!(
        store.get("rec/counter").await,
        Err(StoreError::WrongType { .. })
    ));
    store
        .put("rec/counter", Bytes::from_static(b"r"), None)
        .await
        .unwrap();
    assert_eq!(
        store.get("rec/counter").await.unwrap().unwrap(),
        Bytes::from_static(b"r")
    );
    assert!(matches!(
        store.add_counter("big", u64::MAX, None).await,
        Err(StoreError::Overflow(_))
    ));
}

#[tokio::test]
async fn token_buckets_give_the_burst_then_the_rate() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = store(&server, "t3").await;
    let now = SystemTime::now();
    for _ in 0..5 {
        let taken = store.take_token("b", 10.0, 5, now).await.unwrap();
        assert_eq!(taken, TokenDecision::Taken);
    }
    assert_eq!(
        store.take_token("b", 10.0, 5, now).await.unwrap(),
        TokenDecision::Empty {
            retry_after: Duration::from_millis(100)
        }
    );
    let later = now + Duration::from_millis(100);
    assert_eq!(
        store.take_token("b", 10.0, 5, later).await.unwrap(),
        TokenDecision::Taken
    );
    assert!(store.take_token("b", 0.0, 5, now).await.is_err());
    store
        .put("rec", Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    assert!(store.take_token("rec", 1.0, 1, now).await.is_err());
}

#[tokio::test]
async fn an_unreachable_or_malformed_url_is_an_error_not_a_fallback() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = RedisOptions {
        op_timeout: Duration::from_millis(300),
        ..RedisOptions::default()
    };
    let url = format!("redis://user:secret@127.0.0.1:{closed}");
    let err = connect(&url, options.clone(), Clock::system())
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{text}");
    assert!(
        text.contains("cannot reach Redis") && !text.contains("secret"),
        "{text}"
    );
    let err = connect("redis://[::1", options, Clock::system())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("invalid Redis URL"), "{err}");
}

#[tokio::test]
async fn while_redis_is_down_fail_closed_refuses_and_fail_open_counts_locally() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let open = RedisOptions {
        on_unavailable: OnUnavailable::FailOpen,
        op_timeout: Duration::from_millis(300),
        ..RedisOptions::default()
    };
    let closed = RedisOptions {
        on_unavailable: OnUnavailable::FailClosed,
        ..open.clone()
    };
    let open = connect(&server.url(), open, Clock::system()).await.unwrap();
    let closed = connect(&server.url(), closed, Clock::system())
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new(Clock::system()));
    closed.health().unwrap().attach_metrics(&metrics);
    assert_eq!(
        open.incr_if_below("q", 2, None).await.unwrap(),
        CounterDecision::Incremented(1)
    );
    server.stop();

    assert!(matches!(
        closed.incr_if_below("q", 2, None).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(!closed.health().unwrap().is_available());
    assert!(matches!(
        closed.incr_if_below("q", 2, None).await,
        Err(StoreError::Unavailable(_))
    ));
    let lifetime = |name| {
        let found = metrics.find("Portico/Store", name, &[]);
        found.iter().map(|(_, s)| s.lifetime().1).sum::<u64>()
    };
    assert_eq!(
        lifetime("Outages"),
        1,
        "one outage, however many failed calls"
    );
    assert_eq!(
        lifetime("Unavailable"),
        2,
        "every refused operation is counted"
    );
    // Fail open: the local fallback starts from nothing and still enforces the limit.
    assert_eq!(
        open.incr_if_below("q", 2, None).await.unwrap(),
        CounterDecision::Incremented(1)
    );
    assert_eq!(
        open.incr_if_below("q", 2, None).await.unwrap(),
        CounterDecision::Incremented(2)
    );
    assert_eq!(
        open.incr_if_below("q", 2, None).await.unwrap(),
        CounterDecision::AtLimit(2)
    );
    // Records exist only in Redis: refused in both modes.
    assert!(matches!(
        open.get("r").await,
        Err(StoreError::Unavailable(_))
    ));

    server.restart();
    // The probe notices within its backoff (at most 2 s between pings).
    for store in [&open, &closed] {
        let mut changes = store.health().unwrap().subscribe();
        let recovered = tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|up| *up));
        assert!(
            matches!(recovered.await, Ok(Ok(_))),
            "the store did not recover after Redis restarted"
        );
    }
    assert_eq!(
        closed.incr_if_below("q", 2, None).await.unwrap(),
        CounterDecision::Incremented(1),
        "a fresh Redis starts counting again"
    );
}
