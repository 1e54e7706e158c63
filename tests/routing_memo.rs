//! The per-thread route memo: a path routed once routes the same way again — per method, with
//! its own path parameters — and a reload that changes the routes is seen at once by paths
//! routed before it.

mod common;
mod lifecycle_support;

use common::{quiet, shipped_registry, TestStack};
use lifecycle_support::{register_labelled, start};
use portico_runtime::Registry;
use serde_json::Value;

const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /items/{id}"
function = "echo"

[[apis.shop.routes]]
route = "POST /items/{id}"
function = "echo"

[[apis.shop.routes]]
route = "GET /items/special"
function = "echo"

[[apis.shop.routes]]
route = "ANY /files/{path+}"
function = "echo"
"#;

async fn event(stack: &TestStack, method: &str, path: &str) -> Value {
    let res = stack.request(method, path, &[], "").await;
    assert_eq!(res.status, 200, "{method} {path}: {}", res.text());
    res.json()
}

#[tokio::test]
async fn a_path_routed_again_gets_the_same_route_with_its_own_parameters() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    for _ in 0..3 {
        for id in ["1", "2", "a%20b"] {
            let e = event(&stack, "GET", &format!("/prod/items/{id}")).await;
            assert_eq!(e["resource"], "/items/{id}");
            assert_eq!(e["pathParameters"]["id"], id.replace("%20", " "));
            assert_eq!(e["path"], format!("/items/{id}"));
        }
        let e = event(&stack, "GET", "/prod/items/special").await;
        assert_eq!(e["resource"], "/items/special");
        assert_eq!(e["pathParameters"], Value::Null);
        // The same path with another method is another route (and another memo entry).
        let e = event(&stack, "POST", "/prod/items/special").await;
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["httpMethod"], "POST");
        assert_eq!(e["pathParameters"]["id"], "special");
        let e = event(&stack, "PUT", "/prod/files/a/b/c.txt").await;
        assert_eq!(e["resource"], "/files/{path+}");
        assert_eq!(e["pathParameters"]["path"], "a/b/c.txt");
        // A method no route takes stays unrouted however often it comes.
        let res = stack.request("DELETE", "/prod/items/7", &[], "").await;
        assert_eq!(res.status, 403, "{}", res.text());
        assert_eq!(stack.get("/prod/nothing/here").await.status, 403);
    }
}

fn api(routes: &[(&str, &str)]) -> String {
    let mut toml = "[apis.shop]\ntype = \"rest\"\n\n[apis.shop.stages.prod]\n".to_owned();
    for (route, function) in routes {
        toml.push_str(&format!(
            "\n[[apis.shop.routes]]\nroute = \"{route}\"\nfunction = \"{function}\"\n"
        ));
    }
    toml
}

#[tokio::test]
async fn a_reload_reroutes_paths_routed_before_it() {
    let mut registry = Registry::new();
    register_labelled(&mut registry, "a", "a");
    register_labelled(&mut registry, "b", "b");
    let s = start("memo", &api(&[("GET /items/{id}", "a")]), &registry).await;
    for _ in 0..3 {
        assert_eq!(s.side("/prod/items/special").await["side"], "a");
    }
    s.rewrite(&api(&[
        ("GET /items/{id}", "a"),
        ("GET /items/special", "b"),
    ]));
    let res = s.reload().await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(s.side("/prod/items/special").await["side"], "b");
    assert_eq!(s.side("/prod/items/7").await["side"], "a");
    // And back: the route removed again no longer answers for the path.
    s.rewrite(&api(&[("GET /items/{id}", "a")]));
    assert_eq!(s.reload().await.status, 200);
    assert_eq!(s.side("/prod/items/special").await["side"], "a");
}
