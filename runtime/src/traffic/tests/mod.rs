//! Behaviour of the whole traffic area through its public entry points.

mod admit;
mod config;
mod manage;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::store::MemoryStore;
use crate::Clock;

pub(super) const ALICE: &str = "alice-key-0123456789abcdef";
pub(super) const BOB: &str = "bob-key-0123456789abcdefgh";

// 2024-05-15T12:00:00Z, a Wednesday.
pub(super) fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400))
}

pub(super) fn control(toml_text: &str, clock: &Clock) -> TrafficControl {
    let config: TrafficConfig = toml::from_str(toml_text).expect("config parses");
    let store = Arc::new(MemoryStore::new(clock.clone()));
    TrafficControl::new(&config, store, clock.clone()).expect("config is valid")
}

pub(super) const PLAN: &str = r#"
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
