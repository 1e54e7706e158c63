//! The gateway.toml the multi-replica tests share: a REST API `shop` whose stage `prod` has
//! the keyed route `GET /pets/{proxy+}` (function `echo`), usage plan `basic` with a daily
//! quota, key `alice` ([`KEY`]), logs off and the account throttle lifted, on a Redis store.

/// The value of the key `alice`.
pub const KEY: &str = "alice-key-0123456789abcdef";

/// What varies between the replica tests' configs.
#[derive(Default)]
pub struct Replicas<'a> {
    /// The Redis URL.
    pub url: &'a str,
    /// Lines under `[store]` after `kind` and `url` (`on_unavailable`, `cluster`).
    pub store: &'a str,
    /// Lines under `[apis.shop.stages.prod]` (its throttle).
    pub stage: &'a str,
    /// The daily quota of plan `basic`.
    pub quota: u64,
    /// Lines of plan `basic` after its quota (its throttle).
    pub plan: &'a str,
    /// Appended at the end: more routes, workflows.
    pub extra: &'a str,
}

/// The config text.
pub fn replica_toml(r: &Replicas<'_>) -> String {
    let Replicas {
        url,
        store,
        stage,
        quota,
        plan,
        extra,
    } = r;
    format!(
        r#"
[logs]
stdout = false
access_log = false

[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[store]
kind = "redis"
url = "{url}"
{store}

[apis.shop]
type = "rest"
[apis.shop.stages.prod]
{stage}

[[apis.shop.routes]]
route = "GET /pets/{{proxy+}}"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{{ api = "shop", stage = "prod" }}]
quota = {{ limit = {quota}, period = "DAY" }}
{plan}

[[api_keys]]
name = "alice"
value = "{KEY}"
usage_plans = ["basic"]
{extra}
"#
    )
}
