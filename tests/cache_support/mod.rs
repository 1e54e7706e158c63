//! Shared pieces of the response-cache tests: a counting function, an optional gate that
//! holds its calls, and a REST API whose `dev` stage has a cache.
#![allow(dead_code)]

pub mod shared;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::common::{quiet, TestStack};

/// Answers `{"call": N, ...}` where N counts its calls, so a cached answer repeats an old N.
/// `?status=` sets the status code and `?size=` pads the body to that many bytes.
pub struct Counting {
    pub calls: Arc<AtomicUsize>,
    /// When set, every call waits for a permit first.
    pub gate: Option<Arc<Semaphore>>,
}

#[async_trait]
impl Handler for Counting {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await;
        }
        let query = &event["queryStringParameters"];
        let status: u16 = query["status"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200);
        let size: usize = query["size"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = json!({"call": call, "path": event["path"], "pad": "x".repeat(size)});
        Ok(json!({
            "statusCode": status,
            "headers": {"content-type": "application/json", "x-from": "function"},
            "body": body.to_string(),
        }))
    }
}

/// A registry with `count` (a [`Counting`] function) and its call counter.
pub fn registry(gate: Option<Arc<Semaphore>>) -> (Registry, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    registry.register(
        "count",
        Counting {
            calls: calls.clone(),
            gate,
        },
    );
    (registry, calls)
}

/// A manual clock at a fixed instant.
pub fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

/// The REST API `shop`: stage `dev` with a cache, stage `prod` without.
pub const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev]
cache = { capacity_bytes = 5000000, ttl = "60s", invalidation_keys = ["inv-key", "other-key"] }
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /items/{id}"
function = "count"
cache = { key_parameters = ["method.request.path.id", "method.request.querystring.page", "method.request.header.Accept"] }

[[apis.shop.routes]]
route = "GET /all/{id}"
function = "count"

[[apis.shop.routes]]
route = "GET /off"
function = "count"
cache = { enabled = false }

[[apis.shop.routes]]
route = "GET /zero"
function = "count"
cache = { ttl = "0s" }

[[apis.shop.routes]]
route = "GET /short"
function = "count"
cache = { ttl = "10s" }

[[apis.shop.routes]]
route = "ANY /form"
function = "count"
cache = { methods = ["POST"] }

[[apis.shop.routes]]
route = "POST /items"
function = "count"

[[apis.shop.routes]]
route = "GET /strict"
function = "count"
cache = { unauthorized_strategy = "FAIL_WITH_403" }

[[apis.shop.routes]]
route = "GET /warn"
function = "count"
cache = { unauthorized_strategy = "SUCCEED_WITH_RESPONSE_HEADER" }

[[apis.shop.routes]]
route = "GET /quiet"
function = "count"
cache = { unauthorized_strategy = "SUCCEED_WITHOUT_RESPONSE_HEADER" }

[[apis.shop.routes]]
route = "GET /open"
function = "count"
cache = { require_authorization = false }
"#;

/// Serves [`TOML`] on a manual clock.
pub async fn start() -> (TestStack, Arc<AtomicUsize>, Clock) {
    let (registry, calls) = registry(None);
    let clock = clock();
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
    (stack, calls, clock)
}

/// The `call` number in a [`Counting`] body.
pub fn call_of(body: &Value) -> u64 {
    body["call"]
        .as_u64()
        .unwrap_or_else(|| panic!("no call in {body}"))
}

/// How many times `count` ran.
pub fn calls(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}
