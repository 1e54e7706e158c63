//! The per-request decision: keys, throttles, quotas.

use super::*;

#[tokio::test]
async fn key_checks_map_to_403() {
    let clock = clock();
    let tc = control(PLAN, &clock);
    let admit = |key: Option<&'static str>| tc.admit("pets", "prod", "GET /pets", key, true);
    let forbidden = |r: ForbiddenReason| Err(TrafficRejection::Forbidden(r));
    assert_eq!(
        admit(None).await.map(drop),
        forbidden(ForbiddenReason::MissingKey)
    );
    assert_eq!(
        admit(Some("wrong-key-0123456789abcdef")).await.map(drop),
        forbidden(ForbiddenReason::UnknownKey)
    );
    assert_eq!(
        admit(Some("carol-key-0123456789abcdef")).await.map(drop),
        forbidden(ForbiddenReason::DisabledKey)
    );
    assert_eq!(
        admit(Some("dave-key-0123456789abcdefg")).await.map(drop),
        forbidden(ForbiddenReason::NoUsagePlan)
    );
    let rejection = admit(None).await.unwrap_err();
    assert_eq!(rejection.status_and_message(), (403, "Forbidden"));
    assert_eq!(rejection.retry_after_secs(), None);
    // Routes that do not require a key ignore it entirely.
    let open = tc
        .admit("pets", "prod", "GET /pets", None, false)
        .await
        .unwrap();
    assert!(open.key.is_none());
    let ok = admit(Some(ALICE)).await.unwrap();
    assert_eq!(ok.key.unwrap().name, "alice");
    assert_eq!(ok.quota_remaining, Some(2));
}

#[tokio::test]
async fn account_throttle_rejects_then_refills_on_the_clock() {
    let clock = clock();
    let tc = control(
        "account_throttle = { rate_limit = 1, burst_limit = 2 }",
        &clock,
    );
    let admit = || tc.admit("a", "s", "GET /", None, false);
    admit().await.unwrap();
    admit().await.unwrap();
    let rejection = admit().await.unwrap_err();
    assert!(matches!(
        rejection,
        TrafficRejection::Throttled {
            level: ThrottleLevel::Account,
            ..
        }
    ));
    assert_eq!(rejection.status_and_message(), (429, "Too Many Requests"));
    assert_eq!(rejection.retry_after_secs(), Some(1));
    clock.advance(Duration::from_secs(1));
    admit().await.unwrap();
}

#[tokio::test]
async fn stage_default_is_per_route_and_overrides_replace_it() {
    let clock = clock();
    let tc = control(
        r#"
        [[stages]]
        api = "a"
        stage = "s"
        throttle = { rate_limit = 1, burst_limit = 1 }
        routes = { "POST /orders" = { rate_limit = 2, burst_limit = 2 } }
        "#,
        &clock,
    );
    let level = |r: Result<Admission, TrafficRejection>| match r {
        Err(TrafficRejection::Throttled { level, .. }) => Some(level),
        _ => None,
    };
    assert_eq!(level(tc.admit("a", "s", "GET /x", None, false).await), None);
    assert_eq!(level(tc.admit("a", "s", "GET /y", None, false).await), None);
    assert_eq!(
        level(tc.admit("a", "s", "GET /x", None, false).await),
        Some(ThrottleLevel::Stage)
    );
    assert_eq!(
        level(tc.admit("a", "s", "POST /orders", None, false).await),
        None
    );
    assert_eq!(
        level(tc.admit("a", "s", "POST /orders", None, false).await),
        None
    );
    assert_eq!(
        level(tc.admit("a", "s", "POST /orders", None, false).await),
        Some(ThrottleLevel::Route)
    );
    // Another stage is not throttled at all.
    assert_eq!(
        level(tc.admit("a", "other", "GET /x", None, false).await),
        None
    );
}

#[tokio::test]
async fn plan_throttle_is_per_key_and_does_not_consume_quota() {
    let clock = clock();
    let tc = control(PLAN, &clock);
    let admit =
        |key: &'static str, route: &'static str| tc.admit("pets", "prod", route, Some(key), true);
    admit(ALICE, "GET /pets").await.unwrap();
    admit(ALICE, "GET /pets").await.unwrap();
    let throttled = admit(ALICE, "GET /pets").await.unwrap_err();
    assert!(matches!(
        throttled,
        TrafficRejection::Throttled {
            level: ThrottleLevel::UsagePlan,
            ..
        }
    ));
    // Bob has his own bucket.
    admit(BOB, "GET /pets").await.unwrap();
    // The route override gives each key one token on GET /slow.
    admit(BOB, "GET /slow").await.unwrap();
    let slow = admit(BOB, "GET /slow").await.unwrap_err();
    assert!(matches!(
        slow,
        TrafficRejection::Throttled {
            level: ThrottleLevel::UsagePlanRoute,
            ..
        }
    ));
    // Alice used 2 of her 3; the throttled request did not count.
    clock.advance(Duration::from_secs(5));
    let last = admit(ALICE, "GET /pets").await.unwrap();
    assert_eq!(last.quota_remaining, Some(0));
    let over = admit(ALICE, "GET /pets").await.unwrap_err();
    assert_eq!(over.status_and_message(), (429, "Limit Exceeded"));
    // 12:00:05 → midnight is 11h59m55s away.
    assert_eq!(over.retry_after_secs(), Some(11 * 3600 + 59 * 60 + 55));
    clock.advance(Duration::from_secs(12 * 3600));
    assert_eq!(
        admit(ALICE, "GET /pets").await.unwrap().quota_remaining,
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_quota_limit_of_256_concurrent_requests_pass() {
    let clock = clock();
    let tc = Arc::new(control(
        r#"
        [[usage_plans]]
        id = "bulk"
        stages = [{ api = "a", stage = "s" }]
        quota = { limit = 100, period = "MONTH", offset = 14 }
        [[api_keys]]
        name = "k"
        value = "bulk-key-0123456789abcdef"
        usage_plans = ["bulk"]
        "#,
        &clock,
    ));
    let tasks: Vec<_> = (0..256)
        .map(|_| {
            let tc = tc.clone();
            tokio::spawn(async move {
                tc.admit("a", "s", "GET /", Some("bulk-key-0123456789abcdef"), true)
                    .await
            })
        })
        .collect();
    let (mut ok, mut over) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(TrafficRejection::QuotaExceeded { retry_after }) => {
                // The month that started on the 15th ends on June 15th.
                assert_eq!(retry_after, Duration::from_secs(31 * 86_400 - 12 * 3600));
                over += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, over), (100, 156));
}
