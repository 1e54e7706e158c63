//! Cache settings in gateway.toml: every mistake reported at once at its file:line:col.

mod cache_support;
mod common;

use portico_runtime::Config;

fn errors(toml: &str) -> Vec<String> {
    let (registry, _) = cache_support::registry(None);
    match Config::from_toml(toml, "bad.toml", &registry) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_cache_mistake_is_reported_with_its_place() {
    let toml = r#"[apis.shop]
type = "rest"
[apis.shop.stages.dev]
cache = { capacity_bytes = 0, ttl = "2h", invalidation_keys = [""] }
[apis.shop.stages.prod]
cache = { ttl = "1.5s" }

[[apis.shop.routes]]
route = "GET /items/{id}"
function = "count"
cache = { ttl = "3601s", unauthorized_strategy = "FAIL" }

[[apis.shop.routes]]
route = "GET /pets"
function = "count"
cache = { key_parameters = ["method.request.cookie.a", "method.request.path.id", "querystring.q"] }

[[apis.shop.routes]]
route = "GET /form"
function = "count"
cache = { methods = ["get", "POST"] }

[apis.plain]
type = "rest"
base_path = "/plain"
[apis.plain.stages.dev]
[[apis.plain.routes]]
route = "GET /x"
function = "count"
cache = { enabled = true }

[apis.h]
type = "http"
base_path = "/h"
[apis.h.stages.'$default']
cache = { capacity_bytes = 1000 }
"#;
    let errs = errors(toml);
    let expect = [
        ("bad.toml:4:28:", "`capacity_bytes` must be greater than 0"),
        ("bad.toml:4:37:", "`ttl` must be at most 3600s"),
        ("bad.toml:4:64:", "invalidation key must not be empty"),
        ("bad.toml:6:17:", "`ttl` must be whole seconds"),
        ("bad.toml:11:17:", "`ttl` must be at most 3600s"),
        (
            "bad.toml:11:50:",
            "`unauthorized_strategy = \"FAIL\"` must be FAIL_WITH_403",
        ),
        (
            "bad.toml:16:29:",
            "key parameter `method.request.cookie.a` must be",
        ),
        ("bad.toml:16:56:", "the route has no path parameter `{id}`"),
        ("bad.toml:16:82:", "key parameter `querystring.q` must be"),
        ("bad.toml:21:22:", "`get` is not a method"),
        ("bad.toml:21:29:", "the route never receives `POST`"),
        ("bad.toml:30:9:", "no stage of this api has a cache"),
        ("bad.toml:36:9:", "HTTP APIs have no cache"),
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
fn unknown_cache_keys_and_wrong_types_are_errors() {
    let errs = errors("[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\ncache = { capacity = 5 }\n");
    assert!(
        errs[0].starts_with("bad.toml:4:") && errs[0].contains("capacity"),
        "{errs:?}"
    );
    let errs =
        errors("[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\ncache = { capacity_bytes = -1 }\n");
    assert!(errs[0].starts_with("bad.toml:4:"), "{errs:?}");
    let errs = errors(
        "[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\ncache = {}\n[[apis.a.routes]]\nroute = \"GET /x\"\nfunction = \"count\"\ncache = { ttl = 60 }\n",
    );
    assert!(errs[0].starts_with("bad.toml:8:"), "{errs:?}");
}

#[test]
fn a_valid_cache_config_resolves_with_its_defaults() {
    let (registry, _) = cache_support::registry(None);
    let config = Config::from_toml(cache_support::TOML, "ok.toml", &registry).unwrap();
    let api = &config.apis[0];
    let dev = api.stages.iter().find(|s| s.name == "dev").unwrap();
    let cache = dev.cache.as_ref().unwrap();
    assert_eq!(cache.settings.capacity_bytes, 5_000_000);
    assert_eq!(cache.settings.ttl_seconds, 60);
    assert_eq!(cache.invalidation_keys, ["inv-key", "other-key"]);
    let prod = api.stages.iter().find(|s| s.name == "prod").unwrap();
    assert!(prod.cache.is_none());
    let all = api
        .routes
        .iter()
        .find(|r| r.key.text == "GET /all/{id}")
        .unwrap();
    assert!(all.cache.is_none());
    let short = api
        .routes
        .iter()
        .find(|r| r.key.text == "GET /short")
        .unwrap();
    assert_eq!(short.cache.as_ref().unwrap().ttl_seconds, Some(10));
    // A table with only a capacity takes API Gateway's 300 s default TTL.
    let toml =
        "[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev.cache]\ncapacity_bytes = 237000000000\n";
    let config = Config::from_toml(toml, "ok.toml", &registry).unwrap();
    let cache = config.apis[0].stages[0].cache.as_ref().unwrap();
    assert_eq!(cache.settings.ttl_seconds, 300);
    assert_eq!(cache.settings.capacity_bytes, 237_000_000_000);
}

#[test]
fn the_readme_example_is_valid() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = &readme[readme.find("## Response caching").expect("section")..];
    let start = section.find("```toml\n").expect("toml block") + "```toml\n".len();
    let toml = &section[start..start + section[start..].find("```").expect("block end")];
    let toml = toml.replace("\"items\"", "\"count\"");
    let (registry, _) = cache_support::registry(None);
    let config = Config::from_toml(&toml, "README.md", &registry).unwrap_or_else(|e| panic!("{e}"));
    let route = config.apis[0].routes[0]
        .cache
        .as_ref()
        .expect("route cache");
    assert_eq!(route.ttl_seconds, Some(60));
    assert_eq!(route.key_parameters.len(), 3);
    assert!(
        !config.apis[0].routes[1]
            .cache
            .as_ref()
            .expect("off")
            .enabled
    );
}
