//! Two stacks opened one after the other on the same embedded data directory, on a manual
//! clock: the second starts from what the first acknowledged: a spent quota stays spent,
//! usage is still reported, and a key created and joined to a plan at runtime still works.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;

fn toml(dir: &std::path::Path) -> String {
    quiet(&format!(
        r#"
[store]
kind = "embedded"
path = "{}"

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
[[apis.shop.routes]]
route = "GET /pets"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{{ api = "shop", stage = "prod" }}]
quota = {{ limit = 3, period = "DAY" }}

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]
"#,
        dir.display()
    ))
}

async fn pets(stack: &TestStack, key: &str) -> u16 {
    stack
        .request("GET", "/prod/pets", &[("x-api-key", key)], "")
        .await
        .status
}

#[tokio::test]
async fn a_restarted_stack_starts_from_the_acknowledged_state() {
    let dir = std::env::temp_dir().join(format!("portico-store-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // 2024-05-15 12:00 UTC.
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400));
    let config = toml(&dir);
    let alice = "alice-key-0123456789abcdef";

    let first = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    for _ in 0..3 {
        assert_eq!(pets(&first, alice).await, 200);
    }
    assert_eq!(pets(&first, alice).await, 429);
    let created = first
        .request(
            "POST",
            "/apikeys",
            &[],
            r#"{"name":"dave","value":"dave-key-0123456789abcdef","enabled":true}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let dave_id = created.json()["id"].as_str().unwrap().to_owned();
    let joined = first
        .request(
            "POST",
            "/usageplans/basic/keys",
            &[],
            format!(r#"{{"keyId":"{dave_id}","keyType":"API_KEY"}}"#),
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.text());
    drop(first);

    let second = TestStack::start_with_clock(&config, &shipped_registry(), clock.clone()).await;
    // The quota spent before the restart stays spent until the period ends.
    assert_eq!(pets(&second, alice).await, 429);
    let dave = "dave-key-0123456789abcdef";
    assert_eq!(pets(&second, dave).await, 200);
    let usage = second
        .get("/usageplans/basic/usage?startDate=2024-05-15&endDate=2024-05-15")
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text());
    let values = &usage.json()["values"];
    assert_eq!(values[&dave_id][0][0], 1, "{values}");
    let alice_used: u64 = values
        .as_object()
        .unwrap()
        .iter()
        .filter(|(id, _)| **id != dave_id)
        .map(|(_, days)| days[0][0].as_u64().unwrap())
        .sum();
    assert_eq!(alice_used, 3, "{values}");
    clock.advance(Duration::from_secs(12 * 3600));
    assert_eq!(pets(&second, alice).await, 200);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
