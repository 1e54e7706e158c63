//! `[logs] otlp_endpoint` and `[logs] emf`: where finished traces and metric samples are also
//! sent. Both are checked at load, at their file:line:col.

use toml::Spanned;

use super::error::Errors;

/// Where Embedded Metric Format lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmfDestination {
    /// Printed to the process's stdout, one JSON object per line.
    Stdout,
    /// Kept in this log group (readable with `portico logs` and `GET /logs`).
    Group(String),
}

/// The base URL of an OTLP/HTTP collector (`http://host:port` or `https://...`, an optional
/// path prefix); traces are posted to `{base}/v1/traces`.
pub(super) fn resolve_otlp(
    endpoint: Option<&Spanned<String>>,
    errors: &mut Errors<'_>,
) -> Option<String> {
    let spanned = endpoint?;
    let text = spanned.get_ref().trim();
    let problem = match text.parse::<http::Uri>() {
        Err(_) => Some("is not a URL"),
        Ok(uri) if !matches!(uri.scheme_str(), Some("http" | "https")) => {
            Some("must start with http:// or https://")
        }
        Ok(uri) if uri.host().is_none_or(str::is_empty) => Some("has no host"),
        Ok(uri) if uri.query().is_some() || text.contains('#') => {
            Some("must not have a query or fragment")
        }
        Ok(_) => None,
    };
    match problem {
        Some(problem) => {
            errors.at(
                Some(spanned.span().start),
                format!(
                    "`otlp_endpoint = \"{}\"` {problem}; expected a collector's base URL like http://127.0.0.1:4318",
                    spanned.get_ref()
                ),
            );
            None
        }
        None => Some(text.trim_end_matches('/').to_owned()),
    }
}

/// `emf = "stdout"` or `emf = "group:NAME"`; samples exist only with `metrics = true`.
pub(super) fn resolve_emf(
    emf: Option<&Spanned<String>>,
    metrics: bool,
    errors: &mut Errors<'_>,
) -> Option<EmfDestination> {
    let spanned = emf?;
    let text = spanned.get_ref();
    if !metrics {
        errors.at(
            Some(spanned.span().start),
            "`emf` needs `metrics = true`: EMF lines are written as metrics are recorded",
        );
        return None;
    }
    if text == "stdout" {
        return Some(EmfDestination::Stdout);
    }
    match text.strip_prefix("group:") {
        Some(group) if !group.is_empty() && group.len() <= 512 => {
            Some(EmfDestination::Group(group.to_owned()))
        }
        _ => {
            errors.at(
                Some(spanned.span().start),
                format!("`emf = \"{text}\"` must be \"stdout\" or \"group:LOG_GROUP_NAME\""),
            );
            None
        }
    }
}
