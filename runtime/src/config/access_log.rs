//! `access_log = { format, destination }` and `execution_log = "ERROR" | "INFO"` of a stage.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use crate::observe::access_format::AccessFormat;

/// `access_log = { format = "CLF", destination = "stdout" }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSection {
    /// `CLF`, `JSON`, `XML`, `CSV` or a `$context` format string (default `JSON`).
    pub format: Option<Spanned<String>>,
    /// `stdout` (the default) or `file:PATH`.
    pub destination: Option<Spanned<String>>,
}

/// Where a stage's access-log lines are written, besides its log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessDestination {
    /// The process's standard output.
    Stdout,
    /// Appended to a file.
    File(PathBuf),
}

/// A stage's access log, validated.
#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    /// The parsed format.
    pub format: Arc<AccessFormat>,
    /// Where lines go.
    pub destination: AccessDestination,
}

/// A stage's execution-log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExecutionLogLevel {
    /// Only requests that ended in a gateway error.
    Error,
    /// Every request.
    Info,
}

pub(super) fn resolve_access_log(
    api: &str,
    stage: &str,
    section: &Spanned<AccessLogSection>,
    errors: &mut Errors<'_>,
) -> Option<AccessLogConfig> {
    let s = section.get_ref();
    let format = match &s.format {
        Some(f) => match AccessFormat::parse(f.get_ref()) {
            Ok(format) => Some(format),
            Err(e) => {
                errors.at(
                    Some(f.span().start),
                    format!("api `{api}` stage `{stage}`: access_log format: {e}"),
                );
                None
            }
        },
        None => AccessFormat::parse("JSON").ok(),
    };
    let destination = match &s.destination {
        None => Some(AccessDestination::Stdout),
        Some(d) => match d.get_ref().as_str() {
            "stdout" => Some(AccessDestination::Stdout),
            text => match text.strip_prefix("file:") {
                Some(path) if !path.is_empty() => {
                    let path = PathBuf::from(path);
                    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
                    if dir.is_some_and(|d| !d.is_dir()) {
                        errors.at(
                            Some(d.span().start),
                            format!("api `{api}` stage `{stage}`: access_log destination `{text}`: the directory does not exist"),
                        );
                        None
                    } else {
                        Some(AccessDestination::File(path))
                    }
                }
                _ => {
                    errors.at(
                        Some(d.span().start),
                        format!("api `{api}` stage `{stage}`: access_log destination `{text}` must be \"stdout\" or \"file:PATH\""),
                    );
                    None
                }
            },
        },
    };
    Some(AccessLogConfig {
        format: Arc::new(format?),
        destination: destination?,
    })
}

pub(super) fn resolve_execution_log(
    api: &str,
    stage: &str,
    level: &Spanned<String>,
    errors: &mut Errors<'_>,
) -> Option<ExecutionLogLevel> {
    match level.get_ref().as_str() {
        "ERROR" => Some(ExecutionLogLevel::Error),
        "INFO" => Some(ExecutionLogLevel::Info),
        other => {
            errors.at(
                Some(level.span().start),
                format!("api `{api}` stage `{stage}`: execution_log `{other}` must be \"ERROR\" or \"INFO\""),
            );
            None
        }
    }
}
