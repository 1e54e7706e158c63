//! An embedder's test: `Stack::builder(..).build()` on the memory store, run in a directory
//! holding a `.portico/deployments.json`, reads no file and starts with no deployments.
//! (Alone in its test binary: it changes the process's working directory.)

mod common;

use portico_runtime::{Config, Registry, Stack};
use serde_json::json;

const SHOP: &str = r#"[apis.shop]
type = "rest"

[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /x"
function = "a"
"#;

#[tokio::test]
async fn build_in_a_directory_with_a_deployments_file_does_not_read_it() {
    let dir = std::env::temp_dir().join(format!("portico-embedder-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(".portico")).unwrap();
    // Not even a history: reading it would fail the build.
    std::fs::write(dir.join(".portico/deployments.json"), "{ not json").unwrap();
    std::env::set_current_dir(&dir).unwrap();
    let mut registry = Registry::new();
    registry.register_fn(
        "a",
        |_: portico_runtime::LambdaEvent<serde_json::Value>| async {
            Ok::<_, lambda_runtime::Error>(json!({ "statusCode": 200, "body": "a" }))
        },
    );
    let config = Config::from_toml(&common::quiet(SHOP), "gateway.toml", &registry).unwrap();
    assert_eq!(config.server.data_dir, std::path::Path::new(".portico"));
    let stack = Stack::builder(config, &registry).build();
    assert!(stack
        .deployments("shop")
        .await
        .unwrap()
        .deployments
        .is_empty());
    let served = common::TestStack::serve(stack).await;
    assert_eq!(served.get("/prod/x").await.text(), "a");
    // Nothing was written next to the file either.
    let names: Vec<_> = std::fs::read_dir(dir.join(".portico")).unwrap().collect();
    assert_eq!(names.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
