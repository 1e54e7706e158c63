//! Request validators (`x-amazon-apigateway-request-validators` and the document's or
//! method's `x-amazon-apigateway-request-validator`), body models, and mock integrations.

use serde_json::Value;
use toml::{Table, Value as Toml};

use super::Importer;

impl Importer<'_> {
    /// The route's validator: the method's `x-amazon-apigateway-request-validator`, else the
    /// document's, looked up in `x-amazon-apigateway-request-validators`.
    pub(super) fn validate(
        &mut self,
        at: &str,
        op: &Value,
        path_params: Option<&Value>,
        doc: &Value,
    ) -> Option<Table> {
        let name = op
            .get("x-amazon-apigateway-request-validator")
            .or_else(|| doc.get("x-amazon-apigateway-request-validator"))
            .and_then(Value::as_str)?;
        let Some(rules) = doc.pointer(&format!(
            "/x-amazon-apigateway-request-validators/{}",
            name.replace('~', "~0").replace('/', "~1")
        )) else {
            self.error(at, format!("request validator `{name}` is not defined in x-amazon-apigateway-request-validators"));
            return None;
        };
        let flag = |k: &str| rules.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut table = Table::new();
        if flag("validateRequestBody") {
            let schema = op.pointer("/requestBody/content/application~1json/schema");
            if let Some(schema) = schema.and_then(|s| self.schema(at, s, doc)) {
                table.insert("body".into(), Toml::String(schema.to_string()));
            }
        }
        if flag("validateRequestParameters") {
            let all = path_params
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    op.get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            let mut required = Vec::new();
            for p in all {
                if !p.get("required").and_then(Value::as_bool).unwrap_or(false) {
                    continue;
                }
                let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                let place = match p.get("in").and_then(Value::as_str) {
                    Some("query") => "querystring",
                    Some("header") => "header",
                    Some("path") => "path",
                    _ => continue,
                };
                required.push(Toml::String(format!("{place}.{name}")));
            }
            if !required.is_empty() {
                table.insert("parameters".into(), Toml::Array(required));
            }
        }
        (!table.is_empty()).then_some(table)
    }

    /// A schema with its `$ref` to `#/components/schemas/X` replaced by the model itself.
    fn schema(&mut self, at: &str, schema: &Value, doc: &Value) -> Option<Value> {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return Some(schema.clone());
        };
        match reference
            .strip_prefix("#/")
            .and_then(|p| doc.pointer(&format!("/{p}")))
        {
            Some(model) => Some(model.clone()),
            None => {
                self.error(
                    at,
                    format!("`$ref` `{reference}` does not resolve in this document"),
                );
                None
            }
        }
    }
}

/// A mock integration: status and template from the default integration response.
pub(super) fn mock(integration: &Value) -> Table {
    let mut table = Table::new();
    let default = integration.pointer("/responses/default");
    let status = default.and_then(|d| d.get("statusCode")).and_then(|s| {
        s.as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or_else(|| s.as_i64())
    });
    if let Some(status) = status {
        table.insert("status".into(), Toml::Integer(status));
    }
    let templates = default
        .and_then(|d| d.get("responseTemplates"))
        .and_then(Value::as_object);
    if let Some((content_type, template)) = templates.and_then(|t| t.iter().next()) {
        table.insert("content_type".into(), Toml::String(content_type.clone()));
        if let Some(template) = template.as_str() {
            table.insert("template".into(), Toml::String(template.into()));
        }
    }
    table
}
