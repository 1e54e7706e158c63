//! Behaviour of the whole traffic area through its public entry points.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::store::MemoryStore;
use crate::Clock;

const ALICE: &str = "alice-key-0123456789abcdef";
const BOB: &str = "bob-key-0123456789abcdefgh";

// 2024-05-15T12:00:00Z, a Wednesday.
fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400))
}

fn control(toml_text: &str, clock: &Clock) -> TrafficControl {
    let config: TrafficConfig = toml::from_str(toml_text).expect("config parses");
    let store = Arc::new(MemoryStore::new(clock.clone()));
    TrafficControl::new(&config, store, clock.clone()).expect("config is valid")
}

const PLAN: &str = r#"
[[usage_plans]]
id = "basic"
stages = [{ api = "pets", stage = "prod", throttle = { "GET /slow" = { rate_limit = 1, burst_limit = 1 } } }]
throttle = { rate_limit = 1, burst_limit = 2 }
quota = { limit = 3, period = "DAY" }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]

[[api_keys]]
name = "bob"
value = "bob-key-0123456789abcdefgh"
usage_plans = ["basic"]

[[api_keys]]
name = "carol"
value = "carol-key-0123456789abcdef"
enabled = false
usage_plans = ["basic"]

[[api_keys]]
name = "dave"
value = "dave-key-0123456789abcdefg"
"#;

#[test]
fn validate_reports_every_problem() {
    let config: TrafficConfig = toml::from_str(
        r#"
        account_throttle = { rate_limit = 0, burst_limit = 0 }
        [[stages]]
        api = "a"
        stage = "s"
        throttle = { rate_limit = 100, burst_limit = 10 }
        routes = { "pets" = { rate_limit = 1, burst_limit = 1 } }
        [[usage_plans]]
        id = "p"
        quota = { limit = 0, period = "YEAR" }
        [[usage_plans]]
        id = "q"
        quota = { limit = 5, period = "DAY", offset = 1 }
        [[usage_plans]]
        id = "w"
        quota = { limit = 5, period = "WEEK", offset = 7 }
        [[api_keys]]
        name = "k"
        value = "too-short"
        usage_plans = ["nope"]
        "#,
    )
    .unwrap();
    let issues = config.validate().unwrap_err();
    let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "account_throttle.rate_limit",
            "account_throttle.burst_limit",
            "stages[0].throttle.burst_limit",
            "stages[0].routes.\"pets\"",
            "usage_plans[0].quota.limit",
            "usage_plans[0].quota.period",
            "usage_plans[1].quota.offset",
            "usage_plans[2].quota.offset",
            "api_keys[0].value",
            "api_keys[0].usage_plans[0]",
        ],
        "{issues:#?}"
    );
    assert!(issues[2].message.contains("below rate_limit"));
    assert!(issues[5].message.contains("YEAR"));
}

#[test]
fn unknown_fields_are_refused() {
    let err = toml::from_str::<TrafficConfig>("[[api_keys]]\nname = \"a\"\nvalu = \"x\"\n");
    assert!(err.is_err());
}

#[test]
fn a_key_may_join_only_one_plan_per_stage() {
    let config: TrafficConfig = toml::from_str(
        r#"
        [[usage_plans]]
        id = "a"
        stages = [{ api = "pets", stage = "prod" }]
        [[usage_plans]]
        id = "b"
        stages = [{ api = "pets", stage = "prod" }]
        [[api_keys]]
        name = "k"
        usage_plans = ["a", "b"]
        "#,
    )
    .unwrap();
    let issues = config.validate().unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, "api_keys[0].usage_plans[1]");
}

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

#[tokio::test]
async fn get_usage_has_aws_shape() {
    let clock = clock();
    let tc = control(PLAN, &clock);
    tc.admit("pets", "prod", "GET /pets", Some(ALICE), true)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(86_400));
    tc.admit("pets", "prod", "GET /pets", Some(ALICE), true)
        .await
        .unwrap();
    tc.admit("pets", "prod", "GET /pets", Some(ALICE), true)
        .await
        .unwrap();
    let alice = tc.keys().find_by_value(ALICE).unwrap().id.to_string();
    let bob = tc.keys().find_by_value(BOB).unwrap().id.to_string();
    let report = tc
        .get_usage("basic", None, "2024-05-14", "2024-05-16")
        .await
        .unwrap();
    let body = serde_json::to_value(&report).unwrap();
    let mut values = serde_json::Map::new();
    values.insert(alice.clone(), json!([[0, 3], [1, 2], [2, 1]]));
    values.insert(bob, json!([[0, 3], [0, 3], [0, 3]]));
    let carol = tc
        .keys()
        .find_by_value("carol-key-0123456789abcdef")
        .unwrap();
    values.insert(carol.id.to_string(), json!([[0, 3], [0, 3], [0, 3]]));
    assert_eq!(
        body,
        json!({
            "usagePlanId": "basic",
            "startDate": "2024-05-14",
            "endDate": "2024-05-16",
            "values": values,
        })
    );
    let one = tc
        .get_usage("basic", Some(&alice), "2024-05-16", "2024-05-16")
        .await
        .unwrap();
    assert_eq!(one.values[&alice], vec![[2, 1]]);
    assert!(matches!(
        tc.get_usage("basic", None, "2024-05-16", "2024-05-01")
            .await,
        Err(TrafficError::BadRequest(_))
    ));
    assert!(matches!(
        tc.get_usage("nope", None, "2024-05-16", "2024-05-16").await,
        Err(TrafficError::NotFound { .. })
    ));
}

#[tokio::test]
async fn management_bodies_match_api_gateway() {
    let clock = clock();
    let tc = control(PLAN, &clock);
    let created = tc
        .create_api_key(
            serde_json::from_value(json!({"name": "eve", "enabled": true, "tags": {}})).unwrap(),
        )
        .unwrap();
    let body = serde_json::to_value(&created).unwrap();
    assert_eq!(body["name"], "eve");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["createdDate"], 1_715_774_400);
    assert_eq!(body["lastUpdatedDate"], 1_715_774_400);
    assert_eq!(body["stageKeys"], json!([]));
    assert_eq!(body["value"].as_str().unwrap().len(), 40);

    let page = tc
        .get_api_keys(
            None,
            false,
            &Page {
                limit: Some(2),
                position: None,
            },
        )
        .unwrap();
    let page = serde_json::to_value(&page).unwrap();
    assert_eq!(page["item"].as_array().unwrap().len(), 2);
    assert!(page["item"][0].get("value").is_none());
    assert_eq!(page["position"], "2");
    let rest = tc
        .get_api_keys(
            None,
            true,
            &Page {
                limit: Some(10),
                position: Some("2".into()),
            },
        )
        .unwrap();
    assert_eq!(rest.items.len(), 3);
    assert!(rest.position.is_none());
    assert!(rest.items.iter().all(|k| k.value.is_some()));

    let plans = serde_json::to_value(tc.get_usage_plans(&Page::default()).unwrap()).unwrap();
    assert_eq!(
        plans,
        json!({"item": [{
            "id": "basic",
            "name": "basic",
            "apiStages": [{"apiId": "pets", "stage": "prod",
                           "throttle": {"/slow/GET": {"burstLimit": 1, "rateLimit": 1.0}}}],
            "throttle": {"burstLimit": 2, "rateLimit": 1.0},
            "quota": {"limit": 3, "offset": 0, "period": "DAY"}
        }]})
    );

    let dave = tc
        .keys()
        .find_by_value("dave-key-0123456789abcdefg")
        .unwrap();
    let joined = tc.create_usage_plan_key("basic", &dave.id).unwrap();
    assert_eq!(serde_json::to_value(&joined).unwrap()["type"], "API_KEY");
    assert!(tc
        .admit(
            "pets",
            "prod",
            "GET /pets",
            Some("dave-key-0123456789abcdefg"),
            true
        )
        .await
        .is_ok());
    assert!(matches!(
        tc.create_usage_plan_key("basic", &dave.id),
        Err(TrafficError::Conflict(_))
    ));
    assert!(matches!(
        tc.get_api_key("missing", false),
        Err(TrafficError::NotFound { .. })
    ));
}
