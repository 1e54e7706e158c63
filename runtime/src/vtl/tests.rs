//! Template behaviour Velocity users rely on.

use serde_json::{json, Value};

use super::{Input, RenderError, Template};

fn render(template: &str, body: &str) -> Result<String, RenderError> {
    let input = Input {
        body,
        ..Input::default()
    };
    Template::parse(template).expect("parses").render(
        &input,
        &json!({"stage": "dev"}),
        &Value::Null,
    )
}

#[test]
fn undefined_references_render_as_written_unless_quiet() {
    assert_eq!(
        render("[$nope][$!nope][${nope}]", "").unwrap(),
        "[$nope][][${nope}]"
    );
}

#[test]
fn escape_javascript_matches_java() {
    assert_eq!(
        render("$util.escapeJavaScript($input.body)", "it's \"a\"/\n\u{e9}").unwrap(),
        "it\\'s \\\"a\\\"\\/\\n\\u00E9"
    );
}

#[test]
fn directives_alone_on_a_line_leave_no_blank_line() {
    let t = "a\n#set($x = 1 + 2 * 3)\n  #if($x == 7)\nseven\n  #end\nb";
    assert_eq!(render(t, "").unwrap(), "a\nseven\nb");
}

#[test]
fn input_json_and_path_select_with_jsonpath() {
    let body = r#"{"a": {"b": [1, {"c": "x"}]}}"#;
    assert_eq!(
        render("$input.json('$.a.b[1]')", body).unwrap(),
        r#"{"c":"x"}"#
    );
    assert_eq!(render("$input.path('$.a.b[1].c')", body).unwrap(), "x");
    assert_eq!(render("$input.path('$.a.b').size()", body).unwrap(), "2");
    assert_eq!(
        render("$input.path('$.a.b')", "nope"),
        Err(RenderError::BodyNotJson)
    );
}

#[test]
fn foreach_restores_the_outer_variable() {
    let t = "#set($i = 'outer')#foreach($i in [1, 2])$i#end $i";
    assert_eq!(render(t, "").unwrap(), "12 outer");
}

#[test]
fn unknown_methods_fail_at_render_not_silently() {
    assert!(matches!(
        render("$context.stage.frobnicate()", ""),
        Err(RenderError::Call(_))
    ));
}

#[test]
fn a_missing_parameter_is_an_empty_string_as_on_api_gateway() {
    assert_eq!(
        render(
            "[$input.params('nope')][$util.urlEncode($input.params('nope'))]",
            ""
        )
        .unwrap(),
        "[][]"
    );
}
