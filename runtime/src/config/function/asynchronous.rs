//! `[functions.NAME.async]`: retries, event age and destinations, checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::super::error::Errors;
use super::super::schema::FunctionSection;
use super::super::{parse_duration, FunctionDecl};
use super::AsyncSection;
use crate::invoke::{AsyncSettings, Destination, Registry};

pub(super) fn asynchronous(name: &str, a: &AsyncSection, errors: &mut Errors<'_>) -> AsyncSettings {
    let mut s = AsyncSettings::default();
    if let Some(n) = &a.maximum_retry_attempts {
        match u32::try_from(*n.get_ref()) {
            Ok(n @ 0..=2) => s.maximum_retry_attempts = n,
            _ => errors.at(
                Some(n.span().start),
                format!(
                    "function `{name}`: `maximum_retry_attempts` must be 0, 1 or 2, not {}",
                    n.get_ref()
                ),
            ),
        }
    }
    if let Some(t) = &a.maximum_event_age {
        match parse_duration(t.get_ref()) {
            Ok(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(6 * 3600) => {
                s.maximum_event_age = d
            }
            Ok(_) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `maximum_event_age` must be between 60s and 6h"),
            ),
            Err(e) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `maximum_event_age`: {e}"),
            ),
        }
    }
    if let Some(t) = &a.retry_delay {
        match parse_duration(t.get_ref()) {
            Ok(d) => s.retry_delay = d,
            Err(e) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `retry_delay`: {e}"),
            ),
        }
    }
    s.on_success = a
        .on_success
        .as_ref()
        .and_then(|d| destination(name, d, errors));
    s.on_failure = a
        .on_failure
        .as_ref()
        .and_then(|d| destination(name, d, errors));
    s
}

fn destination(name: &str, d: &Spanned<String>, errors: &mut Errors<'_>) -> Option<Destination> {
    let text = d.get_ref();
    match text.split_once(':') {
        Some(("function", f)) if !f.is_empty() => Some(Destination::Function(f.to_owned())),
        Some(("file", p)) if !p.is_empty() => Some(Destination::File(PathBuf::from(p))),
        _ => {
            errors.at(Some(d.span().start), format!("function `{name}`: destination `{text}` must be `function:NAME` or `file:PATH`"));
            None
        }
    }
}

/// Checks `function:NAME` destinations once every function is known.
pub(in crate::config) fn check_destinations(
    sections: &BTreeMap<String, Spanned<FunctionSection>>,
    functions: &BTreeMap<String, FunctionDecl>,
    registry: &Registry,
    errors: &mut Errors<'_>,
) {
    for (name, section) in sections {
        let Some(a) = &section.get_ref().asynchronous else {
            continue;
        };
        for d in [&a.get_ref().on_success, &a.get_ref().on_failure]
            .into_iter()
            .flatten()
        {
            if let Some(("function", f)) = d.get_ref().split_once(':') {
                if !f.is_empty() && !functions.contains_key(f) && !registry.contains(f) {
                    errors.at(Some(d.span().start), format!("function `{name}`: destination function `{f}` is neither declared under [functions] nor registered"));
                }
            }
        }
    }
}
