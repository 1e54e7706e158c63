//! Management operations and their JSON bodies.

use super::*;

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
