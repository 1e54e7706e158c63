//! OpenAPI 3 (JSON) with API Gateway's extensions → the equivalent gateway.toml API section.
//! Every problem is collected, each naming the path and method it is in.

use std::fmt;

use serde_json::Value;
use toml::{Table, Value as Toml};

use super::arn;

mod security;
mod validators;

const METHODS: [&str; 8] = [
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "x-amazon-apigateway-any-method",
];

/// Every problem found in an OpenAPI file, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<String>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.join("\n"))
    }
}

impl std::error::Error for ImportErrors {}

/// An imported API: its `[apis.NAME]` table, ready to write out or to load.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The API section (`type`, `stages`, `routes`, `authorizers`, `api_key_source`).
    pub section: Table,
}

impl Imported {
    /// The section as gateway.toml text, under `[apis.NAME]`.
    pub fn to_toml(&self, api: &str) -> String {
        let mut apis = Table::new();
        apis.insert(api.to_owned(), Toml::Table(self.section.clone()));
        let mut root = Table::new();
        root.insert("apis".into(), Toml::Table(apis));
        // A table of strings, numbers, booleans, arrays and tables always serializes.
        toml::to_string(&root).unwrap_or_default()
    }
}

/// Imports `text` (named `source` in errors); `function_exists` says whether a function name
/// (without qualifier) is registered or declared.
pub fn import(
    text: &str,
    source: &str,
    function_exists: &dyn Fn(&str) -> bool,
) -> Result<Imported, ImportErrors> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        ImportErrors(vec![format!(
            "{source}: not valid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        )])
    })?;
    let mut cx = Importer {
        source,
        doc: &doc,
        errors: Vec::new(),
        function_exists,
        http_api: Importer::is_http_api(&doc),
    };
    let section = cx.api();
    if cx.errors.is_empty() {
        Ok(Imported { section })
    } else {
        Err(ImportErrors(cx.errors))
    }
}

struct Importer<'a> {
    source: &'a str,
    doc: &'a Value,
    errors: Vec<String>,
    function_exists: &'a dyn Fn(&str) -> bool,
    /// Any integration sends payload format 2.0: an HTTP API.
    http_api: bool,
}

impl Importer<'_> {
    pub(super) fn error(&mut self, at: &str, message: impl fmt::Display) {
        self.errors
            .push(format!("{}: {at}: {message}", self.source));
    }

    fn api(&mut self) -> Table {
        let mut section = Table::new();
        let version = self
            .doc
            .get("openapi")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !version.starts_with("3.") {
            self.error(
                "openapi",
                "must be an OpenAPI 3 document (`\"openapi\": \"3.0.1\"`)",
            );
        }
        let http_api = self.http_api;
        section.insert(
            "type".into(),
            Toml::String(if http_api { "http" } else { "rest" }.into()),
        );
        if let Some(source) = self.doc.get("x-amazon-apigateway-api-key-source") {
            match source.as_str() {
                Some(s @ ("HEADER" | "AUTHORIZER")) => {
                    section.insert("api_key_source".into(), Toml::String(s.into()));
                }
                _ => self.error(
                    "x-amazon-apigateway-api-key-source",
                    "must be \"HEADER\" or \"AUTHORIZER\"",
                ),
            }
        }
        let stages = self.stages();
        if !stages.is_empty() {
            section.insert("stages".into(), Toml::Table(stages));
        }
        let authorizers = self.authorizers();
        if !authorizers.is_empty() {
            section.insert("authorizers".into(), Toml::Table(authorizers));
        }
        let routes = self.routes();
        section.insert("routes".into(), Toml::Array(routes));
        section
    }

    /// An HTTP API: marked as API Gateway marks its HTTP API exports, or any integration
    /// sends payload format 2.0.
    fn is_http_api(doc: &Value) -> bool {
        // API Gateway's HTTP API exports carry this marker; REST API exports do not.
        if doc
            .get("x-amazon-apigateway-importexport-version")
            .is_some()
        {
            return true;
        }
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return false;
        };
        paths.values().filter_map(Value::as_object).any(|item| {
            item.values().any(|op| {
                op.pointer("/x-amazon-apigateway-integration/payloadFormatVersion")
                    .and_then(Value::as_str)
                    == Some("2.0")
            })
        })
    }

    /// Stages from `servers[].variables.basePath.default`, as API Gateway's export writes them.
    fn stages(&mut self) -> Table {
        let mut stages = Table::new();
        let servers = self.doc.get("servers").and_then(Value::as_array);
        for server in servers.into_iter().flatten() {
            let Some(base) = server
                .pointer("/variables/basePath/default")
                .and_then(Value::as_str)
            else {
                continue;
            };
            let name = base.trim_matches('/');
            if !name.is_empty() {
                stages.insert(name.to_owned(), Toml::Table(Table::new()));
            }
        }
        stages
    }

    fn routes(&mut self) -> Vec<Toml> {
        let mut routes = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            self.error("paths", "the document has no `paths`");
            return routes;
        };
        let doc = self.doc;
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                self.error(&format!("paths.{path}"), "must be an object");
                continue;
            };
            for (method, op) in item {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let at = format!("paths.{path}.{method}");
                let verb = if method == "x-amazon-apigateway-any-method" {
                    "ANY".to_owned()
                } else {
                    method.to_ascii_uppercase()
                };
                let key = if path == "$default" {
                    "$default".to_owned()
                } else {
                    format!("{verb} {path}")
                };
                let params = item.get("parameters");
                if let Some(route) = self.route(&at, key, op, params, doc) {
                    routes.push(Toml::Table(route));
                }
            }
        }
        routes
    }

    fn route(
        &mut self,
        at: &str,
        key: String,
        op: &Value,
        path_params: Option<&Value>,
        doc: &Value,
    ) -> Option<Table> {
        let mut route = Table::new();
        route.insert("route".into(), Toml::String(key));
        let Some(integration) = op.get("x-amazon-apigateway-integration") else {
            self.error(at, "has no `x-amazon-apigateway-integration`");
            return None;
        };
        let kind = integration
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let uri = integration.get("uri").and_then(Value::as_str).unwrap_or("");
        match kind.as_str() {
            "aws_proxy" => {
                let version = integration
                    .get("payloadFormatVersion")
                    .and_then(Value::as_str);
                if self.http_api && version == Some("1.0") {
                    self.error(at, "payloadFormatVersion 1.0 in an API whose other integrations use 2.0 is not supported; Portico sends one format per API");
                    return None;
                }
                let function = self.function(at, uri)?;
                route.insert("function".into(), Toml::String(function));
            }
            "http_proxy" => {
                if uri.is_empty() {
                    self.error(at, "an http_proxy integration needs a `uri`");
                    return None;
                }
                route.insert("http".into(), Toml::String(uri.into()));
                if let Some(ms) = integration.get("timeoutInMillis").and_then(Value::as_u64) {
                    route.insert("timeout".into(), Toml::String(format!("{ms}ms")));
                }
            }
            "mock" => {
                route.insert("mock".into(), Toml::Table(validators::mock(integration)));
            }
            other => {
                self.error(at, format!("integration type `{other}` is not supported (aws_proxy, http_proxy or mock)"));
                return None;
            }
        }
        if let Some(validate) = self.validate(at, op, path_params, doc) {
            route.insert("validate".into(), Toml::Table(validate));
        }
        self.security(at, op, &mut route);
        Some(route)
    }

    pub(super) fn function(&mut self, at: &str, uri: &str) -> Option<String> {
        let Some(function) = arn::function_of(uri) else {
            self.error(at, format!("`{uri}` is not a Lambda function integration URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations)"));
            return None;
        };
        let base = function.split(':').next().unwrap_or(&function);
        if !(self.function_exists)(base) {
            self.error(at, format!("the integration names function `{base}`, which is neither declared under [functions] nor registered"));
            return None;
        }
        Some(function)
    }
}
