//! Bad non-proxy integration config is rejected at load, every error at its file:line:col:
//! a selection pattern that is not a regex, templates that do not parse, unknown
//! passthrough behaviors, mapping expressions AWS does not accept, and `integration` where
//! it does not apply. A good config loads and is served.

mod common;

use common::shipped_registry;
use portico_runtime::Config;

fn errors(toml: &str) -> Vec<String> {
    match Config::from_toml(toml, "bad.toml", &shipped_registry()) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// The error reported at `line`, with its column.
fn at(errs: &[String], line: usize) -> &str {
    let prefix = format!("bad.toml:{line}:");
    errs.iter()
        .find(|e| e.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no error at line {line}: {errs:#?}"))
}

const BAD: &str = r#"[apis.shop]
type = "rest"
[apis.shop.stages.dev]

[[apis.shop.routes]]
route = "GET /a/{id}"
function = "hello"
[apis.shop.routes.integration]
passthrough_behavior = "SOMETIMES"
request_templates = { "application/json" = '#if($x', "json" = '{}' }
request_parameters = { "integration.request.header.x" = "method.request.path.id" }
[[apis.shop.routes.integration.responses]]
selection_pattern = '(unclosed'
status_code = 400
[[apis.shop.routes.integration.responses]]
status_code = 999
response_templates = { "application/json" = '#foreach($i in $x) no end' }
[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = { "method.response.header.X" = "method.request.header.y" }

[[apis.shop.routes]]
route = "GET /b/{id}"
http = "http://127.0.0.1:1/b/{id}"
[apis.shop.routes.integration]
request_parameters = { "integration.request.path.other" = "'x'", "integration.request.body" = "'x'", "integration.request.header.y" = "context" }
[[apis.shop.routes.integration.responses]]
status_code = 200
response_parameters = { "method.request.header.X" = "'v'" }

[[apis.shop.routes]]
route = "GET /c"
mock = { status = 200 }
integration = { passthrough_behavior = "NEVER" }

[apis.open]
type = "http"
[[apis.open.routes]]
route = "GET /d"
function = "hello"
integration = { }
"#;

#[test]
fn every_bad_integration_setting_is_reported_at_its_place() {
    let errs = errors(BAD);
    assert!(at(&errs, 9).contains("passthrough_behavior = \"SOMETIMES\""));
    // Both request templates are wrong: one does not parse, one key is no media type.
    let line10: Vec<&String> = errs
        .iter()
        .filter(|e| e.starts_with("bad.toml:10:"))
        .collect();
    assert_eq!(line10.len(), 2, "{errs:#?}");
    assert!(line10.iter().any(|e| e.contains("request_templates")
        && e.contains("application/json")
        && e.contains("template line 1")));
    assert!(line10
        .iter()
        .any(|e| e.contains("`json` is not a media type")));
    assert!(at(&errs, 11).contains("request_parameters apply to `http` routes"));
    assert!(
        at(&errs, 13).contains("selection pattern `(unclosed` is not a valid regular expression")
    );
    assert!(at(&errs, 16).contains("`status_code = 999` is not an HTTP status"));
    assert!(at(&errs, 17).contains("`#foreach` is not closed"));
    // The 999 response and this one both lack a pattern: two defaults.
    assert!(at(&errs, 18).contains("only one response may be the default"));
    assert!(at(&errs, 20).contains("`method.request.header.y` is not a response mapping value"));
    let line26: Vec<&String> = errs
        .iter()
        .filter(|e| e.starts_with("bad.toml:26:"))
        .collect();
    assert_eq!(line26.len(), 3, "{errs:#?}");
    assert!(line26.iter().any(|e| e.contains("has no `{other}`")));
    assert!(line26
        .iter()
        .any(|e| e.contains("`integration.request.body` is not a request parameter")));
    assert!(line26
        .iter()
        .any(|e| e.contains("`context` is not a request mapping value")));
    assert!(at(&errs, 29).contains("`method.request.header.X` is not a response parameter"));
    assert!(at(&errs, 34).contains("applies to `function` and `http` routes only"));
    assert!(at(&errs, 41).contains("REST API feature"));
    for e in &errs {
        assert!(e.contains("api `shop`") || e.contains("api `open`"), "{e}");
    }
    assert_eq!(errs.len(), 15, "{errs:#?}");
}

#[test]
fn only_one_response_may_be_the_default() {
    let errs = errors(
        r#"[apis.shop]
type = "rest"
[apis.shop.stages.dev]
[[apis.shop.routes]]
route = "GET /a"
function = "hello"
[[apis.shop.routes.integration.responses]]
status_code = 200
[[apis.shop.routes.integration.responses]]
status_code = 500
"#,
    );
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(at(&errs, 9).contains("only one response may be the default"));
}

#[test]
fn a_good_integration_loads() {
    let toml = r#"[apis.shop]
type = "rest"
[apis.shop.stages.dev]
[[apis.shop.routes]]
route = "POST /a"
function = "hello"
[apis.shop.routes.integration]
passthrough_behavior = "WHEN_NO_TEMPLATES"
request_templates = { "application/json" = '''{"name": "$input.path('$.name')"}''' }
[[apis.shop.routes.integration.responses]]
status_code = 200
[[apis.shop.routes.integration.responses]]
selection_pattern = '.*\[NotFound\].*'
status_code = 404
response_parameters = { "method.response.header.X-Id" = "integration.response.body.errorType" }
"#;
    Config::from_toml(toml, "good.toml", &shipped_registry())
        .unwrap_or_else(|e| panic!("rejected:\n{e}"));
}
