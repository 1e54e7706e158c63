//! Bad traffic settings in gateway.toml are refused at load with every error at its
//! file:line:col: an unknown plan in a key, burst below rate, a quota period that does not
//! exist, a key value that is too short, plan stages and routes that do not exist.

mod common;

use common::shipped_registry;
use portico_runtime::Config;

fn errors(toml: &str) -> Vec<String> {
    match Config::from_toml(toml, "gw.toml", &shipped_registry()) {
        Ok(_) => panic!("config accepted"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const BASE: &str = r#"[apis.shop]
type = "rest"
[apis.shop.stages.prod]
throttle = { rate_limit = 10, burst_limit = 5 }
[[apis.shop.routes]]
route = "GET /pets"
function = "echo"
api_key_required = true
throttle = { rate_limit = 0, burst_limit = 1 }
"#;

#[test]
fn every_traffic_error_is_reported_at_its_place() {
    let toml = format!(
        r#"{BASE}
[throttle]
rate_limit = 100
burst_limit = 50

[[usage_plans]]
id = "basic"
stages = [{{ api = "shop", stage = "prod", throttle = {{ "GET /cats" = {{ rate_limit = 1, burst_limit = 1 }} }} }}, {{ api = "nope", stage = "prod" }}, {{ api = "shop", stage = "qa" }}]
quota = {{ limit = 10, period = "YEAR" }}

[[api_keys]]
name = "alice"
value = "too-short"
usage_plans = ["gold"]
"#
    );
    let errors = errors(&toml);
    let expected = [
        "gw.toml:4:45: apis.shop.stages.prod.throttle.burst_limit: burst_limit 5 is below rate_limit 10",
        "gw.toml:9:27: apis.shop.routes[0].throttle.rate_limit: must be greater than 0, got 0",
        "gw.toml:13:15: throttle.burst_limit: burst_limit 50 is below rate_limit 100",
        "gw.toml:17:70: usage_plans[0].stages[0].throttle.\"GET /cats\": api `shop` has no route `GET /cats`",
        "gw.toml:17:119: usage_plans[0].stages[1].api: unknown api `nope`",
        "gw.toml:17:169: usage_plans[0].stages[2].stage: api `shop` has no stage `qa` (stages: prod)",
        "gw.toml:18:32: usage_plans[0].quota.period: `YEAR` is not a period: use DAY, WEEK or MONTH",
        "gw.toml:22:9: api_keys[0].value: an API key value needs at least 20 characters",
        "gw.toml:23:16: api_keys[0].usage_plans[0]: unknown usage plan `gold`",
    ];
    assert_eq!(errors, expected, "\n{}", errors.join("\n"));
}

#[test]
fn quota_offsets_and_unknown_fields_are_refused() {
    let toml = format!(
        r#"{BASE}
[[usage_plans]]
id = "basic"
quota = {{ limit = 0, period = "WEEK", offset = 7 }}
"#
    );
    let found = errors(&toml.replace("burst_limit = 5 ", "burst_limit = 10 "));
    assert!(found
        .iter()
        .any(|e| e.starts_with("gw.toml:13:19: usage_plans[0].quota.limit")));
    assert!(found.iter().any(|e| e
        == "gw.toml:13:48: usage_plans[0].quota.offset: offset 7 is out of range for WEEK: allowed 0..=6"));
    let typo = errors("[throttle]\nrate_limit = 10\nburst = 20\n");
    assert_eq!(typo.len(), 1);
    assert!(
        typo[0].starts_with("gw.toml:3:1: unknown field `burst`"),
        "{typo:?}"
    );
}

#[test]
fn the_default_config_declares_a_working_key_and_plan() {
    let text = common::default_gateway_toml();
    let config = Config::from_toml(&text, "gateway.toml", &shipped_registry()).unwrap();
    assert_eq!(config.traffic.api_keys.len(), 1);
    assert_eq!(config.traffic.usage_plans.len(), 1);
    let demo = config.apis.iter().find(|a| a.name == "demo").unwrap();
    let keyed: Vec<_> = demo
        .routes
        .iter()
        .filter(|r| r.api_key_required)
        .map(|r| r.key.text.as_str())
        .collect();
    assert_eq!(keyed, ["GET /premium/hello/{name}"]);
}
