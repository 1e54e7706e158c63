//! Mock integrations over real HTTP: the route answers from its VTL template, reading the
//! request through `$input`, `$context`, `$stageVariables` and `$util`; templates that do
//! not parse are rejected at load.

mod common;

use common::{quiet, TestStack};
use portico_runtime::{Config, Registry};
use serde_json::json;

const TOML: &str = r#"
[apis.pets]
type = "rest"
[apis.pets.stages.dev.variables]
env = "development"

[[apis.pets.routes]]
route = "POST /pets/{id}"
[apis.pets.routes.mock]
status = 201
template = '''
## AWS's documented example: reshape the request
#set($root = $input.path('$'))
{
  "id": "$input.params('id')",
  "filter": "$input.params('filter')",
  "agent": "$input.params('user-agent')",
  "env": "$stageVariables.env",
  "stage": "$context.stage",
  "method": "$context.httpMethod",
  "first": $input.json('$.items[0]'),
  "count": $root.items.size(),
  "escaped": "$util.escapeJavaScript($root.note)",
  "encoded": "$util.urlEncode($root.note)",
  "b64": "$util.base64Encode('hi')",
  "decoded": "$util.base64Decode('aGk=')",
  "parsed": $util.parseJson('{"a":1}').a,
#if($root.items.size() > 2)
  "size": "large",
#elseif($root.items.size() > 0)
  "size": "small",
#else
  "size": "empty",
#end
  "items": [
#foreach($item in $root.items)
    {"name": "$item.name", "price": $item.price}#if($foreach.hasNext),#end

#end
  ]
}
'''

[[apis.pets.routes]]
route = "GET /health"
mock = { template = '{"status": "ok", "requestId": "$context.requestId"}' }

[[apis.pets.routes]]
route = "DELETE /pets/{id}"
mock = { status = 204 }
"#;

#[tokio::test]
async fn a_mock_answers_from_its_template() {
    let stack = TestStack::start(&quiet(TOML), &Registry::new()).await;
    let body = json!({
        "items": [{"name": "rex", "price": 10}, {"name": "tom", "price": 2.5}],
        "note": "say \"hi\" & more/"
    });
    let res = stack
        .request(
            "POST",
            "/dev/pets/42?filter=dogs",
            &[("user-agent", "test/1")],
            body.to_string(),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    let out = res.json();
    assert_eq!(
        out,
        json!({
            "id": "42",
            "filter": "dogs",
            "agent": "test/1",
            "env": "development",
            "stage": "dev",
            "method": "POST",
            "first": {"name": "rex", "price": 10},
            "count": 2,
            "escaped": "say \"hi\" & more/",
            "encoded": "say+%22hi%22+%26+more%2F",
            "b64": "aGk=",
            "decoded": "hi",
            "parsed": 1,
            "size": "small",
            "items": [{"name": "rex", "price": 10}, {"name": "tom", "price": 2.5}]
        })
    );
}

#[tokio::test]
async fn mocks_read_the_context_and_may_have_no_body() {
    let stack = TestStack::start(&quiet(TOML), &Registry::new()).await;
    let res = stack.get("/dev/health").await;
    assert_eq!(res.status, 200);
    let out = res.json();
    assert_eq!(out["status"], "ok");
    assert_eq!(
        Some(out["requestId"].as_str().unwrap()),
        res.header("x-amzn-requestid")
    );
    let res = stack.request("DELETE", "/dev/pets/1", &[], "").await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_for_input_path() {
    let stack = TestStack::start(&quiet(TOML), &Registry::new()).await;
    let res = stack.request("POST", "/dev/pets/1", &[], "{not json").await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), json!({"message": "Bad Request"}));
}

fn errors(toml: &str) -> String {
    match Config::from_toml(toml, "gateway.toml", &Registry::new()) {
        Ok(_) => panic!("config must be rejected:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn templates_that_do_not_parse_are_rejected_at_load() {
    let base = "[apis.a]\ntype = \"http\"\n[[apis.a.routes]]\nroute = \"GET /x\"\n";
    for (template, expected) in [
        ("#if($a) open", "`#if` is not closed by `#end`"),
        ("#end", "without an open `#if`"),
        ("#foreach($x in $y) a", "`#foreach` is not closed"),
        ("${input.body", "is not closed by `}`"),
        ("#bogus()", "unknown directive `#bogus`"),
        ("#set($x = )", "expected a value"),
    ] {
        let text = errors(&format!("{base}mock = {{ template = '{template}' }}\n"));
        assert!(
            text.contains("gateway.toml:5:21: api `a`: route `GET /x`: mock: template line 1")
                && text.contains(expected),
            "{template}: {text}"
        );
    }
    let text = errors(&format!("{base}mock = {{ status = 999 }}\n"));
    assert!(
        text.contains("`status = 999` is not an HTTP status"),
        "{text}"
    );
    let text = errors(&format!("{base}mock = {{ statuz = 200 }}\n"));
    assert!(text.contains("unknown field `statuz`"), "{text}");
}

#[tokio::test]
async fn the_readme_example_loads_and_its_mock_answers() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Integrations").expect("section")..];
    let start = section.find("```toml\n").expect("toml block") + 8;
    let end = start + section[start..].find("```").expect("block end");
    let stack = TestStack::start(&quiet(&section[start..end]), &Registry::new()).await;
    let res = stack.get("/dev/pets/42?q=a+b%2F").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let out = res.json();
    assert_eq!(out["id"], "42");
    assert_eq!(out["stage"], "dev");
    assert_eq!(out["env"], "127.0.0.1:8080");
    assert_eq!(out["query"], "a+b%2F");
}
