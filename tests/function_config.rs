//! Bad function runtime config is rejected with every error at once, each at file:line:col.

mod common;

use common::shipped_registry;
use portico_runtime::Config;

fn errors(toml: &str) -> Vec<String> {
    match Config::from_toml(toml, "bad.toml", &shipped_registry()) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_runtime_setting_is_checked_with_its_place() {
    let toml = r#"[lambda]
account_concurrency = 0

[functions.hello]
reserved_concurrency = -1
provisioned_concurrency = -2
cold_start = "fast"
idle_timeout = "0s"

[functions.hello.async]
maximum_retry_attempts = 3
maximum_event_age = "10s"
on_failure = "queue:x"
on_success = "function:ghost"

[functions.hello.aliases.live]
version = "4"

[functions.hello.aliases.split]
version = "$LATEST"
additional_version = "1"
weight = 1.5

[[functions.hello.versions]]
memory_mb = 64

[functions.tool]
command = ["/no/such/program"]

[functions.both]
handler = "hello"
command = ["sh"]

[functions.tight]
handler = "hello"
reserved_concurrency = 1
provisioned_concurrency = 2

[apis.a]
type = "http"
[[apis.a.routes]]
route = "GET /x"
function = "hello:nope"
"#;
    let errs = errors(toml);
    let expected = [
        "bad.toml:2:23: `account_concurrency` must be at least 1, not 0",
        "bad.toml:5:24: function `hello`: `reserved_concurrency` must be 0 or more, not -1",
        "bad.toml:6:27: function `hello`: `provisioned_concurrency` must be 0 or more, not -2",
        "bad.toml:7:14: function `hello`: `cold_start`: `fast` is not a duration like `250ms`, `3s` or `10m`",
        "bad.toml:8:16: function `hello`: `idle_timeout` must be at least 1s",
        "bad.toml:11:26: function `hello`: `maximum_retry_attempts` must be 0, 1 or 2, not 3",
        "bad.toml:12:21: function `hello`: `maximum_event_age` must be between 60s and 6h",
        "bad.toml:13:14: function `hello`: destination `queue:x` must be `function:NAME` or `file:PATH`",
        "bad.toml:14:14: function `hello`: destination function `ghost` is neither declared under [functions] nor registered",
        "bad.toml:17:11: function `hello`: alias `live` points to version `4`, which does not exist (published versions: 1)",
        "bad.toml:22:10: function `hello`: alias `split` `weight` must be between 0 and 1, not 1.5",
        "bad.toml:25:13: function `hello` version `1`: `memory_mb` must be between 128 and 10240, not 64",
        "bad.toml:28:11: function `tool`: command `/no/such/program` does not exist or is not executable",
        "bad.toml:32:11: function `both`: set `handler` or `command`, not both",
        "bad.toml:37:27: function `tight`: `provisioned_concurrency = 2` is more than `reserved_concurrency = 1`",
        "bad.toml:43:12: api `a`: route `GET /x` names `hello:nope`, but function `hello` has no version or alias `nope`",
    ];
    for e in expected {
        assert!(
            errs.iter().any(|x| x == e),
            "missing {e:?} in\n{}",
            errs.join("\n")
        );
    }
    assert_eq!(errs.len(), expected.len(), "{}", errs.join("\n"));
}

#[test]
fn good_runtime_settings_resolve() {
    let toml = r#"[functions.hello]
cold_start = { p50 = "100ms", p99 = "1s" }
reserved_concurrency = 5
provisioned_concurrency = 1
[functions.hello.async]
maximum_retry_attempts = 0
on_failure = "file:/tmp/dlq.jsonl"
[[functions.hello.versions]]
[functions.hello.aliases.live]
version = "1"
"#;
    let config = Config::from_toml(toml, "ok.toml", &shipped_registry()).unwrap();
    let decl = &config.functions["hello"];
    assert_eq!(decl.settings.reserved_concurrency, Some(5));
    assert_eq!(decl.versions.len(), 1);
    assert_eq!(decl.aliases["live"].version, "1");
    assert_eq!(config.account_concurrency, 1000);
}
