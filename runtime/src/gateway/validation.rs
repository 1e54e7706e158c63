//! Request validation (API Gateway's request validators): required parameters, then the
//! body against the route's model, before anything is invoked. Failures answer 400
//! `Missing required request parameters: [...]` or `Invalid request body`, as AWS does.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;

use super::error::GatewayError;
use super::json_schema::Schema;

/// Where a required parameter is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A path parameter.
    Path,
    /// A query string parameter.
    Querystring,
    /// A header.
    Header,
}

const WHERE: &str = "must be `path.NAME`, `querystring.NAME` or `header.NAME`";

/// A route's validator.
#[derive(Debug, Clone, PartialEq)]
pub struct Validator {
    /// The body's model, when the body is validated.
    pub body: Option<Schema>,
    /// Parameters that must be present (and non-empty, for the query string).
    pub parameters: Vec<(Location, String)>,
}

impl Eq for Validator {}

impl Validator {
    /// Builds a validator from config: `body` is JSON Schema draft 4 text, each parameter
    /// is `path.NAME`, `querystring.NAME` or `header.NAME`.
    pub fn new(body: Option<&str>, parameters: &[String]) -> Result<Validator, String> {
        let body = body
            .map(Schema::compile)
            .transpose()
            .map_err(|e| format!("`body` model: {e}"))?;
        let parameters = parameters
            .iter()
            .map(|p| {
                let (location, name) = p.split_once('.').unwrap_or(("", ""));
                let location = match location {
                    "path" => Location::Path,
                    "querystring" => Location::Querystring,
                    "header" => Location::Header,
                    _ => return Err(format!("parameter `{p}` {WHERE}")),
                };
                if name.is_empty() {
                    return Err(format!("parameter `{p}` has no name"));
                }
                Ok((location, name.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Validator { body, parameters })
    }

    /// Checks the required parameters (which need no body).
    pub(crate) fn check_parameters(
        &self,
        parts: &Parts,
        params: &[(String, &str)],
    ) -> Result<(), (GatewayError, String)> {
        let query = parts.uri.query().unwrap_or("");
        let missing: Vec<&str> = self
            .parameters
            .iter()
            .filter(|(location, name)| match location {
                Location::Path => !params.iter().any(|(k, v)| k == name && !v.is_empty()),
                Location::Querystring => !form_urlencoded::parse(query.as_bytes())
                    .any(|(k, v)| k == name.as_str() && !v.is_empty()),
                Location::Header => !parts
                    .headers
                    .contains_key(name.to_ascii_lowercase().as_str()),
            })
            .map(|(_, name)| name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let list: Arc<str> = missing.join(", ").into();
        Err((
            GatewayError::MissingParameters(list),
            "request validation failed".into(),
        ))
    }

    /// Checks the body against the model.
    pub(crate) fn check_body(&self, body: &Bytes) -> Result<(), (GatewayError, String)> {
        let Some(schema) = &self.body else {
            return Ok(());
        };
        let value = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).map_err(|e| {
                (
                    GatewayError::InvalidRequestBody,
                    format!("the body is not JSON: {e}"),
                )
            })?
        };
        if schema.is_valid(&value) {
            Ok(())
        } else {
            Err((
                GatewayError::InvalidRequestBody,
                "the body does not match the model".into(),
            ))
        }
    }
}
