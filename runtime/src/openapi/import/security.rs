//! Authorizers (`components.securitySchemes` with `x-amazon-apigateway-authorizer`) and
//! each method's `security`: its authorizer, scopes, and whether it needs an API key.

use serde_json::{Map, Value};
use toml::{Table, Value as Toml};

use super::Importer;

impl Importer<'_> {
    fn schemes(&self) -> Option<&Map<String, Value>> {
        self.doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
    }

    pub(super) fn authorizers(&mut self) -> Table {
        let mut out = Table::new();
        let schemes: Vec<(String, Value)> = self
            .schemes()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        for (name, scheme) in schemes {
            let Some(authorizer) = scheme.get("x-amazon-apigateway-authorizer") else {
                continue;
            };
            let at = format!("components.securitySchemes.{name}");
            let mut table = Table::new();
            let kind = authorizer
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let identity = authorizer
                .get("identitySource")
                .and_then(Value::as_str)
                .map(|s| {
                    s.split(',')
                        .map(|p| Toml::String(p.trim().to_owned()))
                        .collect::<Vec<_>>()
                });
            match kind.as_str() {
                "token" | "request" => {
                    let uri = authorizer
                        .get("authorizerUri")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let Some(function) = self.function(&at, uri) else {
                        continue;
                    };
                    table.insert("function".into(), Toml::String(function));
                    if let Some(ttl) = authorizer.get("authorizerResultTtlInSeconds") {
                        match ttl.as_u64() {
                            Some(ttl) => {
                                table.insert("ttl".into(), Toml::String(format!("{ttl}s")));
                            }
                            None => self.error(
                                &at,
                                "`authorizerResultTtlInSeconds` must be a whole number",
                            ),
                        }
                    }
                }
                "jwt" => {
                    let config = authorizer.get("jwtConfiguration");
                    if let Some(issuer) =
                        config.and_then(|c| c.get("issuer")).and_then(Value::as_str)
                    {
                        table.insert("issuer".into(), Toml::String(issuer.into()));
                    }
                    let audiences = config
                        .and_then(|c| c.get("audience"))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(|s| Toml::String(s.into()))
                                .collect()
                        })
                        .unwrap_or_default();
                    table.insert("audiences".into(), Toml::Array(audiences));
                    // Without the extension the keys come from the issuer's OpenID discovery,
                    // as in API Gateway; the extension points at a local file for offline use.
                    if let Some(file) = authorizer
                        .get("x-portico-jwks-file")
                        .and_then(Value::as_str)
                    {
                        table.insert("jwks_file".into(), Toml::String(file.into()));
                    }
                }
                other => {
                    self.error(
                        &at,
                        format!(
                            "authorizer type `{other}` is not supported (token, request or jwt)"
                        ),
                    );
                    continue;
                }
            }
            table.insert("type".into(), Toml::String(kind));
            if let Some(identity) = identity {
                table.insert("identity_source".into(), Toml::Array(identity));
            }
            out.insert(name, Toml::Table(table));
        }
        out
    }

    /// `security`: an authorizer's scheme sets `authorizer`, an `x-api-key` scheme
    /// `api_key_required`.
    pub(super) fn security(&mut self, at: &str, op: &Value, route: &mut Table) {
        let requirements = op
            .get("security")
            .or_else(|| self.doc.get("security"))
            .and_then(Value::as_array);
        for requirement in requirements
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
        {
            for (name, scopes) in requirement {
                let scheme = self.schemes().and_then(|s| s.get(name)).cloned();
                let Some(scheme) = scheme else {
                    self.error(
                        at,
                        format!(
                            "security scheme `{name}` is not defined in components.securitySchemes"
                        ),
                    );
                    continue;
                };
                if scheme.get("x-amazon-apigateway-authorizer").is_some() {
                    route.insert("authorizer".into(), Toml::String(name.clone()));
                    let scopes: Vec<Toml> = scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|s| Toml::String(s.into()))
                        .collect();
                    if !scopes.is_empty() {
                        route.insert("authorization_scopes".into(), Toml::Array(scopes));
                    }
                } else if scheme.get("type").and_then(Value::as_str) == Some("apiKey") {
                    route.insert("api_key_required".into(), Toml::Boolean(true));
                }
            }
        }
    }
}
