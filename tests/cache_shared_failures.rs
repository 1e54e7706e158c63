//! The shared cache level when its store fails: requests never fail, errors are counted in
//! /metrics, flushes say the store did not take them, and sharing resumes on recovery. Also
//! the `shared` setting's config errors.

mod cache_support;
mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use cache_support::shared::{replica, shared_entries, shared_toml, FlakyStore};
use cache_support::{call_of, calls, clock, registry};
use common::{admin_get, TestStack};
use portico_runtime::Config;

async fn call(stack: &TestStack, path: &str, headers: &[(&str, &str)]) -> u64 {
    let r = stack.request("GET", path, headers, "").await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    call_of(&r.json())
}

fn shared_errors(stack: &TestStack) -> u64 {
    stack.stack.cache_metrics()[0]
        .metrics()
        .shared
        .expect("shared counts")
        .errors
}

#[tokio::test]
async fn store_errors_never_fail_requests_and_are_counted() {
    let (registry, counter) = registry(None);
    let clock = clock();
    let store = Arc::new(FlakyStore::new(clock.clone()));
    let a = replica(&shared_toml(), &registry, store.clone(), &clock).await;
    let b = replica(&shared_toml(), &registry, store.clone(), &clock).await;
    store.failing.store(true, Ordering::SeqCst);

    // Reads are misses, writes are skipped: each replica serves from itself and the function.
    assert_eq!(call(&a, "/dev/items/1", &[]).await, 1);
    assert_eq!(call(&a, "/dev/items/1", &[]).await, 1);
    assert_eq!(call(&b, "/dev/items/1", &[]).await, 2);
    assert_eq!(call(&b, "/dev/items/1", &[]).await, 2);
    let invalidate = [("cache-control", "max-age=0"), ("x-api-key", "inv-key")];
    assert_eq!(call(&a, "/dev/items/1", &invalidate).await, 3);
    assert_eq!(call(&a, "/dev/items/1", &[]).await, 3);
    assert!(shared_entries(&store.inner).await.is_empty());
    assert!(shared_errors(&a) >= 4, "{}", shared_errors(&a));

    // The errors are in /metrics.
    let admin = a.serve_admin().await;
    let text = admin_get(&format!("{admin}/metrics")).await.text();
    let line = text
        .lines()
        .find(|l| l.starts_with("portico_cache_shared_cache_errors_total{"))
        .unwrap_or_else(|| panic!("no shared cache errors in:\n{text}"));
    assert!(
        line.contains("api_name=\"shop\"") && line.contains("stage=\"dev\""),
        "{line}"
    );
    let counted: u64 = line
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert_eq!(counted, shared_errors(&a));

    // A flush empties the process cache but says the shared level did not take it.
    let r = a
        .request("DELETE", "/restapis/shop/stages/dev/cache/data", &[], "")
        .await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ServiceUnavailableException")
    );
    assert!(
        r.text().contains("shared cache could not be flushed"),
        "{}",
        r.text()
    );
    assert_eq!(call(&a, "/dev/items/1", &[]).await, 4);

    // Once the store answers again, replicas share entries again.
    store.failing.store(false, Ordering::SeqCst);
    assert_eq!(call(&a, "/dev/items/2", &[]).await, 5);
    assert_eq!(call(&b, "/dev/items/2", &[]).await, 5);
    let r = a
        .request("DELETE", "/restapis/shop/stages/dev/cache/data", &[], "")
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(call(&b, "/dev/items/2", &[]).await, 6);
    assert_eq!(calls(&counter), 6);
}

#[tokio::test]
async fn an_in_process_hit_survives_a_store_outage() {
    let (registry, counter) = registry(None);
    let clock = clock();
    let store = Arc::new(FlakyStore::new(clock.clone()));
    let a = replica(&shared_toml(), &registry, store.clone(), &clock).await;
    let b = replica(&shared_toml(), &registry, store.clone(), &clock).await;
    assert_eq!(call(&a, "/dev/all/1", &[]).await, 1);
    assert_eq!(call(&b, "/dev/all/1", &[]).await, 1);
    store.failing.store(true, Ordering::SeqCst);
    for stack in [&a, &b, &a] {
        assert_eq!(call(stack, "/dev/all/1", &[]).await, 1);
    }
    assert_eq!(calls(&counter), 1);
    assert!(shared_errors(&a) > 0 && shared_errors(&b) > 0);
}

fn errors(toml: &str) -> Vec<String> {
    let (registry, _) = registry(None);
    match Config::from_toml(toml, "bad.toml", &registry) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_shared_setting_that_is_not_a_boolean_is_an_error_at_its_place() {
    for value in ["\"yes\"", "1", "\"true\""] {
        let toml = format!(
            "[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\ncache = {{ ttl = \"60s\", shared = {value} }}\n"
        );
        let errs = errors(&toml);
        assert!(
            errs[0].starts_with("bad.toml:4:") && errs[0].contains("bool"),
            "{value}: {errs:?}"
        );
    }
    let errs = errors("[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\ncache = { share = true }\n");
    assert!(
        errs[0].starts_with("bad.toml:4:") && errs[0].contains("share"),
        "{errs:?}"
    );
}

#[test]
fn shared_is_off_unless_set() {
    let (registry, _) = registry(None);
    let stage = |toml: &str| {
        let config =
            Config::from_toml(toml, "ok.toml", &registry).unwrap_or_else(|e| panic!("{e}"));
        config.apis[0].stages[0]
            .cache
            .clone()
            .expect("cache")
            .shared
    };
    let base = "[apis.a]\ntype = \"rest\"\n[apis.a.stages.dev]\n";
    assert!(!stage(&format!("{base}cache = {{ ttl = \"60s\" }}\n")));
    assert!(!stage(&format!("{base}cache = {{ shared = false }}\n")));
    assert!(stage(&format!("{base}cache = {{ shared = true }}\n")));
}
