//! Natural batching of admissions on a real `redis-server`: admissions that arrive while one
//! script is in flight go together as one script call (at most 128), with exactly the
//! answers the step-by-step reference on the memory store gives; a key of another type fails
//! only the admissions that touch it; an outage fails every admission of a batch by the
//! failure mode.
//!
//! The tests run on tokio's current-thread runtime: every spawned admission queues before
//! the batching task runs, so how many script calls a burst costs is deterministic.

mod redis_support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portico_runtime::config::OnUnavailable;
use portico_runtime::store::redis::RedisStore;
use portico_runtime::store::{AdmitOutcome, AdmitRefusal, AdmitStep, Store, StoreError, StoreExt};
use portico_runtime::Clock;
use redis_support::admit::{redis_store, reference_pair};
use redis_support::RedisServer;

/// The admission of a request with API key `a` or `b`: the key version, a shared account
/// bucket (burst 150, 1 rps), the key's own plan bucket (roomy), its quota of 40 and usage.
fn steps(key: char) -> Vec<AdmitStep<'static>> {
    let (plan, quota, usage) = match key {
        'a' => ("plan/a", "quota/a", "usage/a"),
        _ => ("plan/b", "quota/b", "usage/b"),
    };
    vec![
        AdmitStep::Watch { key: "version" },
        AdmitStep::Take {
            key: "account",
            rate_per_sec: 1.0,
            burst: 150,
        },
        AdmitStep::Take {
            key: plan,
            rate_per_sec: 1000.0,
            burst: 1000,
        },
        AdmitStep::Quota {
            key: quota,
            limit: 40,
            expires_at: None,
        },
        AdmitStep::Usage {
            key: usage,
            expires_at: None,
        },
    ]
}

/// An outcome as comparable text: refusal, quota used, watched version, usage error.
fn summary(outcome: &AdmitOutcome) -> String {
    format!(
        "{:?} {:?} {:?} {}",
        outcome.refusal,
        outcome.quota_used,
        outcome.watched,
        outcome.usage_error.is_some()
    )
}

/// Starts `keys.len()` admissions at once on `store`, one per key letter, all at `now`,
/// and returns their results in the order they were started.
async fn burst(
    store: &Arc<RedisStore>,
    keys: &[char],
    now: SystemTime,
) -> Vec<Result<AdmitOutcome, StoreError>> {
    spread(store, keys, now, Duration::ZERO).await
}

/// As [`burst`], the i-th admission's clock reading `now + i * apart`.
async fn spread(
    store: &Arc<RedisStore>,
    keys: &[char],
    now: SystemTime,
    apart: Duration,
) -> Vec<Result<AdmitOutcome, StoreError>> {
    let tasks: Vec<_> = keys
        .iter()
        .zip(0u32..)
        .map(|(&key, i)| {
            let store = store.clone();
            let at = now + apart * i;
            tokio::spawn(async move { store.admit(&steps(key), at).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("the admission task finishes"));
    }
    results
}

/// One admission that loads the script (Redis answers the first EVALSHA `NOSCRIPT`), so
/// the counts that follow are of the admissions under test only.
async fn warm_up(store: &RedisStore, now: SystemTime) {
    let watch = [AdmitStep::Watch { key: "warm-up" }];
    assert!(store.admit(&watch, now).await.unwrap().refusal.is_none());
}

#[tokio::test]
async fn concurrent_admissions_share_script_calls_and_answer_exactly_as_one_by_one() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = Clock::manual(SystemTime::now());
    let (memory, redis) = reference_pair(&server, &clock, 7).await;
    warm_up(&redis, clock.now()).await;
    let Some(before) = server.calls("evalsha") else {
        eprintln!("SKIPPED batching check: redis-cli is not installed");
        return;
    };
    // 200 requests, the two keys interleaved: the account bucket admits 150, each key's
    // quota 40 of its share, and the rest is throttled (50) or over quota (70).
    let keys: Vec<char> = (0..200)
        .map(|i| if i % 2 == 0 { 'a' } else { 'b' })
        .collect();
    let on_redis = burst(&redis, &keys, clock.now()).await;
    let batched = server.calls("evalsha").unwrap() - before;
    assert_eq!(batched, 2, "200 queued admissions go as 128 + 72");

    let mut on_memory = Vec::new();
    for &key in &keys {
        on_memory.push(memory.admit(&steps(key), clock.now()).await.unwrap());
    }
    let mut redis_answers: Vec<String> = on_redis
        .iter()
        .map(|r| summary(r.as_ref().expect("admitted or refused, never an error")))
        .collect();
    let mut memory_answers: Vec<String> = on_memory.iter().map(summary).collect();
    // The batch keeps the arrival order, which the spawned tasks decide; the answers as a
    // whole are the reference's.
    redis_answers.sort();
    memory_answers.sort();
    assert_eq!(redis_answers, memory_answers);
    let admitted = on_redis
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.refusal.is_none()))
        .count();
    assert_eq!(admitted, 80);
    for key in ["quota/a", "quota/b", "usage/a", "usage/b"] {
        assert_eq!(redis.get_counter(key).await.unwrap(), 40, "{key}");
        assert_eq!(memory.get_counter(key).await.unwrap(), 40, "{key}");
    }

    // A second burst a second later on a refilled account bucket: every key is over quota,
    // and the counters stay exact.
    clock.advance(Duration::from_secs(200));
    let again = burst(&redis, &keys[..10], clock.now()).await;
    assert!(again.iter().all(|r| matches!(
        r,
        Ok(AdmitOutcome {
            refusal: Some(AdmitRefusal::QuotaExceeded { used: 40, .. }),
            ..
        })
    )));
    assert_eq!(server.calls("evalsha").unwrap() - before, 3);
    assert_eq!(redis.get_counter("quota/a").await.unwrap(), 40);
}

#[tokio::test]
async fn a_key_of_another_type_fails_only_the_admissions_that_touch_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = Clock::manual(SystemTime::now());
    let redis = redis_store(&server, OnUnavailable::FailClosed, clock.clone()).await;
    warm_up(&redis, clock.now()).await;
    redis.put_json("quota/a", &"a record", None).await.unwrap();
    let Some(before) = server.calls("evalsha") else {
        eprintln!("SKIPPED batching check: redis-cli is not installed");
        return;
    };
    let keys: Vec<char> = (0..20)
        .map(|i| if i % 2 == 0 { 'a' } else { 'b' })
        .collect();
    let results = burst(&redis, &keys, clock.now()).await;
    assert_eq!(server.calls("evalsha").unwrap() - before, 1, "one batch");
    let mut used = Vec::new();
    for (key, result) in keys.iter().zip(&results) {
        match (key, result) {
            ('a', Err(StoreError::WrongType { key, .. })) => assert_eq!(key, "quota/a"),
            ('b', Ok(outcome)) if outcome.refusal.is_none() => used.push(outcome.quota_used),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    used.sort();
    assert_eq!(used, (1..=10).map(Some).collect::<Vec<_>>());
    // The refused key's admissions stopped at its quota: no usage counted for them; the
    // record is untouched.
    assert_eq!(redis.get_counter("usage/a").await.unwrap(), 0);
    assert_eq!(redis.get_counter("usage/b").await.unwrap(), 10);
    assert_eq!(
        redis
            .get_json::<String>("quota/a")
            .await
            .unwrap()
            .as_deref(),
        Some("a record")
    );
}

#[tokio::test]
async fn an_outage_fails_every_admission_of_a_batch_by_the_failure_mode() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let clock = Clock::manual(SystemTime::now());
    let closed = redis_store(&server, OnUnavailable::FailClosed, clock.clone()).await;
    let open = redis_store(&server, OnUnavailable::FailOpen, clock.clone()).await;
    server.stop();
    let keys: Vec<char> = (0..60)
        .map(|i| if i % 2 == 0 { 'a' } else { 'b' })
        .collect();
    let refused = burst(&closed, &keys, clock.now()).await;
    assert!(
        refused
            .iter()
            .all(|r| matches!(r, Err(StoreError::Unavailable(_)))),
        "{refused:?}"
    );
    // Fail open: each replica counts alone, from nothing, and still exactly.
    let local = burst(&open, &keys, clock.now()).await;
    let admitted = local
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.refusal.is_none() && o.watched.is_none()))
        .count();
    assert_eq!(admitted, 60, "{local:?}");
    let over = burst(&open, &['a'; 15], clock.now()).await;
    let over_quota = over
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.refusal.is_some()))
        .count();
    assert_eq!(over_quota, 5, "30 + 10 fill key a's quota of 40");
}

#[tokio::test]
async fn each_admission_of_a_batch_keeps_its_own_clock_reading() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = Clock::manual(SystemTime::now());
    let redis = redis_store(&server, OnUnavailable::FailClosed, clock.clone()).await;
    warm_up(&redis, clock.now()).await;
    let Some(before) = server.calls("evalsha") else {
        eprintln!("SKIPPED batching check: redis-cli is not installed");
        return;
    };
    // The account bucket (1 rps, burst 150) is emptied by the first 150 of one instant; the
    // next 40, queued in the same batch but read a second apart, each find one new token.
    let now = clock.now();
    let keys: Vec<char> = (0..150)
        .map(|i| if i % 2 == 0 { 'a' } else { 'b' })
        .collect();
    let mut results = burst(&redis, &keys, now).await;
    assert_eq!(server.calls("evalsha").unwrap() - before, 2);
    let later = now + Duration::from_secs(1);
    results.extend(spread(&redis, &['b'; 40], later, Duration::from_secs(1)).await);
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if matches!(o.refusal, Some(AdmitRefusal::Throttled { .. }))))
        .count();
    assert_eq!(
        throttled, 0,
        "every admission found a token at its own instant"
    );
    assert_eq!(
        server.calls("evalsha").unwrap() - before,
        3,
        "the 40 went as one batch"
    );
    // Key b: 75 + 40 requests against a quota of 40.
    assert_eq!(redis.get_counter("quota/b").await.unwrap(), 40);
    // At the last of those instants the bucket is empty again: 40 more at once are all
    // throttled.
    let again = burst(&redis, &['b'; 40], later + Duration::from_secs(39)).await;
    let throttled = again
        .iter()
        .filter(|r| matches!(r, Ok(o) if matches!(o.refusal, Some(AdmitRefusal::Throttled { .. }))))
        .count();
    assert_eq!(throttled, 40);
}
