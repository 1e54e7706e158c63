//! Hot reload over HTTP: `POST /reload` on the admin listener swaps in a changed gateway.toml,
//! keeps serving on an invalid one, lets requests in flight finish on the old configuration,
//! and keeps unchanged functions warm.

mod common;
mod lifecycle_support;

use std::sync::Arc;

use lifecycle_support::{register_counted, register_labelled, start, temp_dir};
use portico_runtime::lifecycle::watch::FileWatch;
use portico_runtime::{LambdaEvent, Registry};
use serde_json::Value;

fn api(gen: &str, routes: &[(&str, &str)]) -> String {
    let mut toml = format!(
        "[apis.shop]\ntype = \"rest\"\n\n[apis.shop.stages.prod]\nvariables = {{ gen = \"{gen}\" }}\n"
    );
    for (route, function) in routes {
        toml.push_str(&format!(
            "\n[[apis.shop.routes]]\nroute = \"{route}\"\nfunction = \"{function}\"\n"
        ));
    }
    toml
}

fn registry() -> Registry {
    let mut r = Registry::new();
    register_labelled(&mut r, "a", "a");
    register_labelled(&mut r, "b", "b");
    r
}

#[tokio::test]
async fn a_route_added_by_reload_is_served() {
    let s = start("added", &api("1", &[("GET /a", "a")]), &registry()).await;
    assert_eq!(s.gateway.get("/prod/b").await.status, 403);
    s.rewrite(&api("1", &[("GET /a", "a"), ("GET /b", "b")]));
    let res = s.reload().await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["reloaded"], true);
    assert_eq!(s.side("/prod/b").await["side"], "b");
    assert_eq!(s.side("/prod/a").await["side"], "a");
}

#[tokio::test]
async fn an_invalid_file_is_rejected_with_its_errors_and_the_old_routes_keep_serving() {
    let s = start("invalid", &api("1", &[("GET /a", "a")]), &registry()).await;
    s.rewrite(&api("2", &[("GET /a", "a"), ("GET /c", "missing")]));
    let res = s.reload().await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.header("x-amzn-errortype"), Some("BadRequestException"));
    let body = res.json();
    let errors = body["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| {
            let e = e.as_str().unwrap_or("");
            e.contains("gateway.toml:") && e.contains("missing")
        }),
        "{body}"
    );
    // Still the old config: the old stage variables, no new route.
    assert_eq!(s.side("/prod/a").await["stageVariables"]["gen"], "1");
    assert_eq!(s.gateway.get("/prod/c").await.status, 403);
    // A file that is not TOML at all is rejected the same way.
    std::fs::write(&s.file, "[apis.shop\n").expect("write");
    let res = s.reload().await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("gateway.toml:1:"), "{}", res.text());
    assert_eq!(s.side("/prod/a").await["stageVariables"]["gen"], "1");
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_old_configuration() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut r = registry();
    let held = gate.clone();
    r.register_fn("slow", move |event: LambdaEvent<Value>| {
        let held = held.clone();
        async move {
            if let Ok(permit) = held.acquire().await {
                permit.forget();
            }
            Ok::<Value, lambda_runtime::Error>(lifecycle_support::answer("slow", &event.payload))
        }
    });
    let s = start("inflight", &api("1", &[("GET /slow", "slow")]), &r).await;
    let client = s.gateway.clone_client();
    let old = tokio::spawn(async move { client.request("GET", "/prod/slow", &[], "").await });
    while s.gateway.stack.function("slow").unwrap().in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    s.rewrite(&api("2", &[("GET /slow", "slow")]));
    assert_eq!(s.reload().await.status, 200);
    gate.add_permits(2);
    let old = old.await.expect("old request");
    assert_eq!(old.status, 200);
    assert_eq!(old.json()["stageVariables"]["gen"], "1");
    assert_eq!(s.side("/prod/slow").await["stageVariables"]["gen"], "2");
}

#[tokio::test]
async fn an_unchanged_function_stays_warm_and_a_changed_one_starts_cold() {
    let mut r = Registry::new();
    let kept = register_counted(&mut r, "kept", "kept");
    let changed = register_counted(&mut r, "changed", "changed");
    let toml = |timeout: &str| {
        format!(
            "[functions.changed]\ntimeout = \"{timeout}\"\n\n{}",
            api("1", &[("GET /kept", "kept"), ("GET /changed", "changed")])
        )
    };
    let s = start("warm", &toml("3s"), &r).await;
    s.side("/prod/kept").await;
    s.side("/prod/changed").await;
    assert_eq!((kept.count(), changed.count()), (1, 1));
    let before = s.gateway.stack.function("kept").unwrap();
    s.rewrite(&format!(
        "{}\n[[apis.shop.routes]]\nroute = \"GET /more\"\nfunction = \"kept\"\n",
        toml("5s")
    ));
    let res = s.reload().await;
    assert_eq!(res.status, 200, "{}", res.text());
    let kept_names = res.json()["functionsKept"].clone();
    assert!(
        kept_names.as_array().unwrap().contains(&"kept".into()),
        "{kept_names}"
    );
    assert!(!kept_names.as_array().unwrap().contains(&"changed".into()));
    s.side("/prod/kept").await;
    s.side("/prod/more").await;
    s.side("/prod/changed").await;
    assert_eq!(
        kept.count(),
        1,
        "the unchanged function had a new cold start"
    );
    assert_eq!(
        changed.count(),
        2,
        "the changed function kept its old instance"
    );
    let after = s.gateway.stack.function("kept").unwrap();
    assert!(Arc::ptr_eq(&before, &after));
    assert_eq!(after.warm_instances(), 1);
}

#[tokio::test]
async fn reload_needs_a_config_file() {
    let r = registry();
    let stack = portico_runtime::Stack::builder(
        common::config(&common::quiet(&api("1", &[("GET /a", "a")])), &r),
        &r,
    )
    .build();
    let err = stack.reload().await.expect_err("no file");
    assert!(err.to_string().contains("not started from a config file"));
}

#[test]
fn the_file_watch_sees_a_changed_file_and_ignores_a_touch() {
    let dir = temp_dir("watch");
    let file = dir.join("gateway.toml");
    std::fs::write(&file, "a = 1\n").unwrap();
    let mut watch = FileWatch::new(&file);
    assert!(!watch.changed());
    let later = |secs| std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
    let touch = |secs| {
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later(secs))
            .unwrap()
    };
    touch(10);
    assert!(!watch.changed(), "same bytes, new time: no reload");
    std::fs::write(&file, "a = 2\n").unwrap();
    touch(20);
    assert!(watch.changed());
    assert!(!watch.changed());
    std::fs::remove_file(&file).unwrap();
    assert!(!watch.changed(), "a missing file is not a change");
    let _ = std::fs::remove_dir_all(&dir);
}
