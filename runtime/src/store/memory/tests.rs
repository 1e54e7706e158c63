use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::store::StoreExt;

fn store() -> (Clock, Arc<MemoryStore>) {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    (clock.clone(), Arc::new(MemoryStore::new(clock)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_limit_of_256_concurrent_increments_succeed() {
    let (_, store) = store();
    let limit = 100;
    let tasks: Vec<_> = (0..256)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.incr_if_below("q", limit, None).await })
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
}

#[tokio::test]
async fn counters_expire_on_the_injected_clock() {
    let (clock, store) = store();
    let at = clock.now() + Duration::from_secs(10);
    assert_eq!(
        store.incr_if_below("c", 1, Some(at)).await.unwrap(),
        CounterDecision::Incremented(1)
    );
    assert_eq!(
        store.incr_if_below("c", 1, Some(at)).await.unwrap(),
        CounterDecision::AtLimit(1)
    );
    clock.advance(Duration::from_secs(10));
    assert_eq!(store.get_counter("c").await.unwrap(), 0);
    assert_eq!(
        store.incr_if_below("c", 1, None).await.unwrap(),
        CounterDecision::Incremented(1)
    );
}

#[tokio::test]
async fn add_counter_keeps_the_first_expiry() {
    let (clock, store) = store();
    let first = clock.now() + Duration::from_secs(5);
    assert_eq!(store.add_counter("u", 3, Some(first)).await.unwrap(), 3);
    let later = clock.now() + Duration::from_secs(50);
    assert_eq!(store.add_counter("u", 2, Some(later)).await.unwrap(), 5);
    clock.advance(Duration::from_secs(5));
    assert_eq!(store.get_counter("u").await.unwrap(), 0);
}

#[tokio::test]
async fn records_round_trip_expire_and_list_by_prefix() {
    let (clock, store) = store();
    store.put_json("k/b", &vec![1, 2], None).await.unwrap();
    let soon = clock.now() + Duration::from_secs(1);
    store
        .put("k/a", Bytes::from_static(b"x"), Some(soon))
        .await
        .unwrap();
    store.put("other", Bytes::new(), None).await.unwrap();
    store.add_counter("k/counter", 1, None).await.unwrap();
    let keys: Vec<_> = store
        .list("k/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["k/a", "k/b"]);
    assert_eq!(
        store.get_json::<Vec<u8>>("k/b").await.unwrap(),
        Some(vec![1, 2])
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.get("k/a").await.unwrap(), None);
    assert_eq!(store.purge_expired(), 1);
    assert!(store.delete("k/b").await.unwrap());
    assert!(!store.delete("k/b").await.unwrap());
}

#[tokio::test]
async fn wrong_type_is_an_error_not_a_panic() {
    let (_, store) = store();
    store.put("r", Bytes::new(), None).await.unwrap();
    assert!(matches!(
        store.add_counter("r", 1, None).await,
        Err(StoreError::WrongType { .. })
    ));
    store.add_counter("n", 1, None).await.unwrap();
    assert!(matches!(
        store.get("n").await,
        Err(StoreError::WrongType { .. })
    ));
    assert!(matches!(
        store.add_counter("n", u64::MAX, None).await,
        Err(StoreError::Overflow(_))
    ));
}

#[tokio::test]
async fn token_buckets_give_the_burst_then_the_rate_and_are_forgotten_when_full() {
    let (clock, store) = store();
    for _ in 0..5 {
        let taken = store.take_token("b", 10.0, 5, clock.now()).await.unwrap();
        assert_eq!(taken, TokenDecision::Taken);
    }
    let empty = store.take_token("b", 10.0, 5, clock.now()).await.unwrap();
    assert_eq!(
        empty,
        TokenDecision::Empty {
            retry_after: Duration::from_millis(100)
        }
    );
    clock.advance(Duration::from_millis(100));
    let refilled = store.take_token("b", 10.0, 5, clock.now()).await.unwrap();
    assert_eq!(refilled, TokenDecision::Taken);
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.purge_expired(), 1, "a full bucket is dropped");
    store
        .put("r", Bytes::from_static(b"{}"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.take_token("r", 1.0, 1, clock.now()).await,
        Err(StoreError::WrongType { .. })
    ));
    assert!(store.take_token("b", 0.0, 1, clock.now()).await.is_err());
}
