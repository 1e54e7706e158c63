//! Identity sources: where an authorizer's identity comes from, and reading it off a request.

use super::{AuthRequest, Refusal};
use crate::gateway::error::GatewayError;

/// One identity source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header (lowercase name).
    Header(String),
    /// A query string parameter.
    Query(String),
    /// A stage variable.
    StageVariable(String),
}

impl IdentitySource {
    /// Parses `$request.header.X`, `$request.querystring.X`, `$stageVariables.X` and REST's
    /// `method.request.header.X` / `method.request.querystring.X` / `stageVariables.X`.
    pub fn parse(text: &str) -> Option<IdentitySource> {
        let text = text.strip_prefix('$').unwrap_or(text);
        let text = text.strip_prefix("method.").unwrap_or(text);
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        if let Some(h) = text.strip_prefix("request.header.") {
            return nonempty(&h.to_ascii_lowercase()).map(IdentitySource::Header);
        }
        if let Some(q) = text.strip_prefix("request.querystring.") {
            return nonempty(q).map(IdentitySource::Query);
        }
        text.strip_prefix("stageVariables.")
            .and_then(nonempty)
            .map(IdentitySource::StageVariable)
    }
}

/// The identity values of a request, in order; a missing or empty one is a 401.
pub(super) fn identity_values(
    sources: &[IdentitySource],
    req: &AuthRequest<'_>,
) -> Result<Vec<String>, Refusal> {
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let value = match source {
            IdentitySource::Header(h) => req
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            IdentitySource::Query(q) => form_urlencoded::parse(req.query.as_bytes())
                .find(|(k, _)| k == q)
                .map(|(_, v)| v.into_owned()),
            IdentitySource::StageVariable(s) => req.stage_variables.get(s).cloned(),
        };
        match value {
            Some(v) if !v.is_empty() => out.push(v),
            _ => {
                return Err((
                    GatewayError::Unauthorized,
                    format!("identity source {source:?} is missing"),
                ))
            }
        }
    }
    Ok(out)
}
