//! The mapping templates of AWS's documentation ("Mapping templates for REST APIs", the
//! photo album example, "Handle Lambda errors in API Gateway", the parameter pass-through
//! template) render here to the output AWS shows.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Input, Template};

fn render_json(template: &str, input: &Input<'_>) -> Value {
    let out = Template::parse(template)
        .expect("parses")
        .render(input, &json!({"stage": "prod"}), &json!({}))
        .expect("renders");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

fn body(body: &str) -> Input<'_> {
    Input {
        body,
        ..Input::default()
    }
}

#[test]
fn the_pets_example_of_mapping_templates_for_rest_apis() {
    let input = r#"[
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99}
    ]"#;
    let template = r#"#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot)
  {
    "description" : "Item $elem.id is a $elem.type.",
    "askingPrice" : $elem.price
  }#if($foreach.hasNext),#end

#end
]"#;
    assert_eq!(
        render_json(template, &body(input)),
        json!([
            {"description": "Item 1 is a dog.", "askingPrice": 249.99},
            {"description": "Item 2 is a cat.", "askingPrice": 124.99},
            {"description": "Item 3 is a fish.", "askingPrice": 0.99}
        ])
    );
}

#[test]
fn the_photo_album_output_template() {
    let input = r#"{"photos": {"page": 1, "pages": "1234", "perpage": 100, "total": "123398",
      "photo": [
        {"id": "12345678901", "owner": "23456789@A12", "photographer_first_name": "Saanvi",
         "photographer_last_name": "Sarkar", "secret": "abc123d456", "server": "1234",
         "farm": 1, "title": "Sample photo 1", "ispublic": true, "isfriend": false, "isfamily": false},
        {"id": "23456789012", "owner": "34567890@B23", "photographer_first_name": "Richard",
         "photographer_last_name": "Roe", "secret": "bcd234e567", "server": "2345",
         "farm": 2, "title": "Sample photo 2", "ispublic": true, "isfriend": false, "isfamily": false}
      ]}}"#;
    let template = r#"#set($inputRoot = $input.path('$'))
{
  "photos": [
#foreach($elem in $inputRoot.photos.photo)
    {
      "id": "$elem.id",
      "photographedBy": "$elem.photographer_first_name $elem.photographer_last_name",
      "title": "$elem.title",
      "ispublic": $elem.ispublic,
      "isfriend": $elem.isfriend,
      "isfamily": $elem.isfamily
    }#if($foreach.hasNext),#end
		
#end
  ]
}"#;
    assert_eq!(
        render_json(template, &body(input)),
        json!({"photos": [
            {"id": "12345678901", "photographedBy": "Saanvi Sarkar", "title": "Sample photo 1",
             "ispublic": true, "isfriend": false, "isfamily": false},
            {"id": "23456789012", "photographedBy": "Richard Roe", "title": "Sample photo 2",
             "ispublic": true, "isfriend": false, "isfamily": false}
        ]})
    );
}

#[test]
fn the_custom_lambda_error_template() {
    // The function failed with a JSON document as its errorMessage.
    let error = json!({
        "errorMessage": json!({
            "errorType": "InternalServerError",
            "httpStatus": 500,
            "requestId": "e5849002-39a0-11e7-a419-5bb5807c9fb2",
            "trace": {"function": "abc()", "line": 123, "file": "abc.js"}
        }).to_string(),
        "errorType": "Error"
    })
    .to_string();
    let template = r#"#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{
  "type" : "$errorMessageObj.errorType",
  "statusCode" : $errorMessageObj.httpStatus,
  "requestId" : "$errorMessageObj.requestId",
  "message" : "An unknown error occurred. Please try again later.",
  "trace" : {
    "function" : "$errorMessageObj.trace.function",
    "line" : $errorMessageObj.trace.line,
    "file" : "$errorMessageObj.trace.file"
  }
}"#;
    assert_eq!(
        render_json(template, &body(&error)),
        json!({
            "type": "InternalServerError",
            "statusCode": 500,
            "requestId": "e5849002-39a0-11e7-a419-5bb5807c9fb2",
            "message": "An unknown error occurred. Please try again later.",
            "trace": {"function": "abc()", "line": 123, "file": "abc.js"}
        })
    );
}

#[test]
fn the_parameter_pass_through_template() {
    let input = Input {
        body: r#"{"a": [1, 2]}"#,
        path: BTreeMap::from([("id".to_owned(), "7".to_owned())]),
        querystring: BTreeMap::from([("q".to_owned(), "say \"hi\"".to_owned())]),
        header: BTreeMap::from([
            ("accept".to_owned(), "*/*".to_owned()),
            ("x-id".to_owned(), "c/1".to_owned()),
        ]),
    };
    let template = r#"#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage" : "$context.stage",
"items" : [
#foreach($item in $input.path('$.a'))
  $item#if($foreach.hasNext),#end
#end
]
}"#;
    assert_eq!(
        render_json(template, &input),
        json!({
            "body-json": {"a": [1, 2]},
            "params": {
                "header": {"accept": "*/*", "x-id": "c/1"},
                "path": {"id": "7"},
                "querystring": {"q": "say \"hi\""}
            },
            "stage": "prod",
            "items": [1, 2]
        })
    );
}
