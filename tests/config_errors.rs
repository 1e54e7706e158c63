//! Bad config is rejected with every error at once, each at its file:line:col.

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
fn syntax_errors_name_the_place() {
    let errs = errors("[server]\nlisten = \n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("bad.toml:2:"), "{errs:?}");
}

#[test]
fn unknown_fields_are_errors() {
    let errs = errors("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 1\n");
    assert!(
        errs[0].starts_with("bad.toml:3:1:") && errs[0].contains("listne"),
        "{errs:?}"
    );
}

#[test]
fn every_semantic_error_is_reported_at_once() {
    let toml = r#"[server]
listen = "not an address"
integration_timeout = "soon"

[functions.hello]
memory_mb = 64
timeout = "20m"

[functions.ghost]

[apis.a]
type = "graphql"

[apis.b]
type = "http"
[[apis.b.routes]]
route = "GET /x"
function = "missing"
[[apis.b.routes]]
route = "FETCH /y"
function = "hello"
[[apis.b.routes]]
route = "GET /{a}"
function = "hello"
[[apis.b.routes]]
route = "GET /{b}"
function = "hello"

[apis.c]
type = "rest"
"#;
    let errs = errors(toml);
    let expect = [
        ("bad.toml:2:10:", "not an address"),
        ("bad.toml:3:23:", "integration_timeout"),
        ("bad.toml:6:13:", "memory_mb"),
        ("bad.toml:7:11:", "timeout"),
        ("bad.toml:9:1:", "no handler named `ghost`"),
        ("bad.toml:12:8:", "graphql"),
        ("bad.toml:18:12:", "function `missing`"),
        ("bad.toml:20:9:", "FETCH"),
        ("bad.toml:26:9:", "declared twice"),
        ("bad.toml:29:1:", "needs at least one stage"),
    ];
    for (place, text) in expect {
        assert!(
            errs.iter()
                .any(|e| e.starts_with(place) && e.contains(text)),
            "missing {place} {text} in:\n{}",
            errs.join("\n")
        );
    }
    assert_eq!(errs.len(), expect.len(), "{}", errs.join("\n"));
}

#[test]
fn apis_cannot_share_a_mount() {
    let errs = errors("[apis.a]\ntype = \"http\"\n[apis.b]\ntype = \"http\"\n");
    assert!(errs[0].contains("already is"), "{errs:?}");
}

#[test]
fn the_default_gateway_toml_is_valid() {
    let toml = common::default_gateway_toml();
    Config::from_toml(&toml, "gateway.toml", &shipped_registry())
        .expect("gateway.toml must be valid");
}
