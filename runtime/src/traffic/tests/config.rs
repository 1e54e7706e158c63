//! Config parsing and validation.

use super::*;

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

#[test]
fn traffic_control_refuses_invalid_config_with_every_issue() {
    let config: TrafficConfig = toml::from_str(
        r#"
        [[api_keys]]
        name = "k"
        value = "short"
        usage_plans = ["missing"]
        "#,
    )
    .unwrap();
    let clock = clock();
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let Err(TrafficError::InvalidConfig(issues)) = TrafficControl::new(&config, store, clock)
    else {
        panic!("invalid config accepted");
    };
    assert_eq!(issues.len(), 2);
    let err = TrafficError::InvalidConfig(issues);
    assert_eq!(err.status_and_type(), (400, "BadRequestException"));
    assert!(err.to_string().contains("api_keys[0].value"));
    assert!(err.to_string().contains("unknown usage plan `missing`"));
}
