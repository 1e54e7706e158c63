//! Custom integrations at the edges, over real HTTP: the stage cache serves repeated GETs
//! without calling the function again; a body that is not UTF-8 is a 400; an unreachable
//! upstream is a 502; headers that frame the message cannot be mapped.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{quiet, TestStack};
use lambda_runtime::LambdaEvent;
use portico_runtime::{Config, Registry};
use serde_json::{json, Value};

fn toml(unreachable: std::net::SocketAddr) -> String {
    quiet(&format!(
        r#"
[apis.shop]
type = "rest"
[apis.shop.stages.dev]
cache = {{ ttl = "300s" }}

[[apis.shop.routes]]
route = "GET /count/{{id}}"
function = "counter"
cache = {{ key_parameters = ["method.request.path.id"] }}
[apis.shop.routes.integration]
request_templates = {{ "application/json" = '''{{"id": "$input.params('id')"}}''' }}
[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = {{ "method.response.header.X-Calls" = "integration.response.body.calls" }}

[[apis.shop.routes]]
route = "POST /echo"
function = "counter"
integration = {{ }}

[[apis.shop.routes]]
route = "GET /down"
http = "http://{unreachable}/down"
integration = {{ }}
"#
    ))
}

async fn start() -> (TestStack, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut registry = Registry::new();
    registry.register_fn("counter", move |event: LambdaEvent<Value>| {
        let calls = counted.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, String>(json!({"calls": calls, "event": event.payload})) }
    });
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = closed.local_addr().unwrap();
    drop(closed);
    let stack = TestStack::start(&toml(unreachable), &registry).await;
    (stack, calls)
}

#[tokio::test]
async fn the_stage_cache_serves_repeated_gets_of_a_custom_route() {
    let (stack, calls) = start().await;
    let first = stack.get("/dev/count/1").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-calls"), Some("1"));
    let again = stack.get("/dev/count/1").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-calls"), Some("1"));
    assert_eq!(again.json(), first.json());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let other = stack.get("/dev/count/2").await;
    assert_eq!(other.json()["event"], json!({"id": "2"}));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_bad_request() {
    let (stack, calls) = start().await;
    let res = stack
        .request("POST", "/dev/echo", &[], vec![0xff_u8, 0xfe, b'{'])
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "Bad Request"}));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let (stack, _) = start().await;
    let res = stack.get("/dev/down").await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert_eq!(res.json(), json!({"message": "Internal server error"}));
}

#[test]
fn headers_that_frame_the_message_cannot_be_mapped() {
    let toml = r#"[apis.shop]
type = "rest"
[apis.shop.stages.dev]
[[apis.shop.routes]]
route = "GET /a"
http = "http://127.0.0.1:1/a"
[apis.shop.routes.integration]
request_parameters = { "integration.request.header.Content-Length" = "'5'" }
[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = { "method.response.header.Transfer-Encoding" = "'chunked'" }
"#;
    let errs = Config::from_toml(toml, "bad.toml", &Registry::new())
        .expect_err("accepted")
        .to_string();
    assert!(
        errs.contains("bad.toml:8:")
            && errs.contains("`Content-Length` is set by the gateway and cannot be mapped"),
        "{errs}"
    );
    assert!(
        errs.contains("bad.toml:11:")
            && errs.contains("`Transfer-Encoding` is set by the gateway and cannot be mapped"),
        "{errs}"
    );
}
