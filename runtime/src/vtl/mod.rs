//! A Velocity Template Language subset for API Gateway mapping templates: `$input.json/
//! path/params/body`, `$context.*`, `$stageVariables.*`, `$util.*`, `#set`, `#if/#elseif/
//! #else`, `#foreach`, comments. Enough for AWS's documented examples.
//!
//! Hand-written because no maintained Rust crate implements VTL; values are
//! `serde_json::Value`, which is what templates read and produce.

mod ast;
mod eval;
mod jsonpath;
mod parse;
mod util;

use std::collections::BTreeMap;

use serde_json::Value;

pub use parse::ParseError;

/// A parsed template, ready to render many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<ast::Node>,
}

impl Template {
    /// Parses a template; a template that does not parse says where and why.
    pub fn parse(source: &str) -> Result<Template, ParseError> {
        Ok(Template {
            nodes: parse::Parser::new(source).template()?,
        })
    }

    /// Renders with `input` as `$input`, `context` as `$context`, `stage_variables` as
    /// `$stageVariables`.
    pub fn render(
        &self,
        input: &Input<'_>,
        context: &Value,
        stage_variables: &Value,
    ) -> Result<String, RenderError> {
        eval::render(&self.nodes, input, context, stage_variables)
    }
}

/// Selects a JSONPath (`$.a.b[0]`, `$.items[*]`) in `root`, as `$input.path` does; `Null`
/// when nothing matches, an error when the path does not parse.
pub fn json_path(root: &Value, path: &str) -> Result<Value, String> {
    jsonpath::select(root, path)
}

/// Why rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// `$input.json` / `$input.path` on a body that is not JSON.
    #[error("the request body is not JSON")]
    BodyNotJson,
    /// A `$util` call with bad arguments, or an unknown method.
    #[error("{0}")]
    Call(String),
}

/// The request a template reads as `$input`.
#[derive(Debug, Default)]
pub struct Input<'a> {
    /// The body as text.
    pub body: &'a str,
    /// Path parameters, decoded.
    pub path: BTreeMap<String, String>,
    /// Query string parameters (the last value of each).
    pub querystring: BTreeMap<String, String>,
    /// Headers (the last value of each).
    pub header: BTreeMap<String, String>,
}

#[cfg(test)]
mod aws_examples;
#[cfg(test)]
mod tests;
