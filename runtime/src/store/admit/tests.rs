use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::store::{MemoryStore, StoreExt};
use crate::Clock;

fn store() -> (Clock, Arc<MemoryStore>) {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    (clock.clone(), Arc::new(MemoryStore::new(clock)))
}

/// Version watch, a bucket of `burst` at 1 rps, a quota of `limit`, usage.
fn steps(burst: u64, limit: u64) -> Vec<AdmitStep<'static>> {
    vec![
        AdmitStep::Watch { key: "version" },
        AdmitStep::Take {
            key: "bucket",
            rate_per_sec: 1.0,
            burst,
        },
        AdmitStep::Quota {
            key: "quota",
            limit,
            expires_at: None,
        },
        AdmitStep::Usage {
            key: "usage",
            expires_at: None,
        },
    ]
}

#[tokio::test]
async fn an_admitted_request_takes_a_token_counts_quota_and_usage_and_reads_the_watch() {
    let (clock, store) = store();
    store.add_counter("version", 7, None).await.unwrap();
    let outcome = store.admit(&steps(5, 10), clock.now()).await.unwrap();
    assert_eq!(outcome.refusal, None);
    assert_eq!(outcome.watched, Some(7));
    assert_eq!(outcome.quota_used, Some(1));
    assert!(outcome.usage_error.is_none());
    assert_eq!(store.get_counter("quota").await.unwrap(), 1);
    assert_eq!(store.get_counter("usage").await.unwrap(), 1);
}

#[tokio::test]
async fn a_throttled_request_consumes_neither_quota_nor_usage() {
    let (clock, store) = store();
    let first = store.admit(&steps(1, 10), clock.now()).await.unwrap();
    assert_eq!(first.refusal, None);
    let second = store.admit(&steps(1, 10), clock.now()).await.unwrap();
    assert_eq!(
        second.refusal,
        Some(AdmitRefusal::Throttled {
            step: 1,
            retry_after: Duration::from_secs(1)
        })
    );
    // The watch before the bucket still ran; the quota and usage after it did not.
    assert_eq!(second.watched, Some(0));
    assert_eq!(second.quota_used, None);
    assert_eq!(store.get_counter("quota").await.unwrap(), 1);
    assert_eq!(store.get_counter("usage").await.unwrap(), 1);
}

#[tokio::test]
async fn a_quota_at_its_limit_refuses_without_counting_usage() {
    let (clock, store) = store();
    for _ in 0..2 {
        let outcome = store.admit(&steps(100, 2), clock.now()).await.unwrap();
        assert_eq!(outcome.refusal, None);
    }
    let refused = store.admit(&steps(100, 2), clock.now()).await.unwrap();
    assert_eq!(
        refused.refusal,
        Some(AdmitRefusal::QuotaExceeded { step: 2, used: 2 })
    );
    assert_eq!(store.get_counter("quota").await.unwrap(), 2);
    assert_eq!(store.get_counter("usage").await.unwrap(), 2);
}

#[tokio::test]
async fn a_step_on_a_record_is_an_error_but_usage_on_one_only_a_report() {
    let (clock, store) = store();
    store
        .put_json("bucket", &"not a bucket", None)
        .await
        .unwrap();
    let error = store.admit(&steps(5, 10), clock.now()).await.unwrap_err();
    assert!(matches!(error, StoreError::WrongType { .. }), "{error}");
    assert_eq!(store.get_counter("quota").await.unwrap(), 0);

    store.delete("bucket").await.unwrap();
    store
        .put_json("usage", &"not a counter", None)
        .await
        .unwrap();
    let outcome = store.admit(&steps(5, 10), clock.now()).await.unwrap();
    assert_eq!(outcome.refusal, None);
    assert!(matches!(
        outcome.usage_error,
        Some(StoreError::WrongType { .. })
    ));
    assert_eq!(store.get_counter("quota").await.unwrap(), 1);
}

#[tokio::test]
async fn no_steps_admit() {
    let (clock, store) = store();
    let outcome = store.admit(&[], clock.now()).await.unwrap();
    assert_eq!(outcome.refusal, None);
    assert_eq!(outcome.watched, None);
}
