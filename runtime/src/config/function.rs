//! `[functions.NAME]` and `[lambda]`: a function's handler or command, limits, cold starts,
//! concurrency, asynchronous invocation, versions and aliases — validated with every error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use super::schema::{FunctionSection, LogsSection};
use super::{parse_duration, FunctionDecl, VersionDecl};
use crate::invoke::{
    AliasRouting, AsyncSettings, ColdStart, Destination, FunctionSettings, Registry,
    DEFAULT_ACCOUNT_CONCURRENCY,
};

/// `[lambda]`: account-wide settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSection {
    /// Concurrent invocations allowed across all functions (Lambda's default 1000).
    pub account_concurrency: Option<Spanned<i64>>,
}

/// `cold_start = "250ms"` or `cold_start = { p50 = "200ms", p99 = "1s" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ColdStartSection {
    /// A fixed delay.
    Fixed(String),
    /// A log-normal distribution with this median and 99th percentile.
    Distribution(ColdStartDistribution),
}

/// `{ p50 = "...", p99 = "..." }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColdStartDistribution {
    /// Median init delay.
    pub p50: String,
    /// 99th percentile init delay.
    pub p99: String,
}

/// `[functions.NAME.async]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncSection {
    /// Retries after a function error, 0 to 2 (default 2).
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    /// Drop events older than this, `60s` to `6h` (default `6h`).
    pub maximum_event_age: Option<Spanned<String>>,
    /// Wait before the first retry, doubling after (default `1m`, as Lambda).
    pub retry_delay: Option<Spanned<String>>,
    /// `function:NAME` or `file:PATH` for successful invocations.
    pub on_success: Option<Spanned<String>>,
    /// `function:NAME` or `file:PATH` for failed or expired events.
    pub on_failure: Option<Spanned<String>>,
}

/// `[[functions.NAME.versions]]`: what differs from the function's own settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSection {
    /// The registered handler this version runs.
    pub handler: Option<Spanned<String>>,
    /// The external program this version runs.
    pub command: Option<Spanned<Vec<String>>>,
    /// Memory in MB.
    pub memory_mb: Option<Spanned<i64>>,
    /// Invocation timeout.
    pub timeout: Option<Spanned<String>>,
    /// Environment variables (replace the function's).
    pub environment: Option<BTreeMap<String, String>>,
    /// Free text.
    pub description: Option<String>,
}

/// `[functions.NAME.aliases.ALIAS]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSection {
    /// The version the alias points to (`$LATEST` or a number).
    pub version: Spanned<String>,
    /// A second version taking `weight` of the traffic.
    pub additional_version: Option<Spanned<String>>,
    /// Fraction of invocations for `additional_version`, between 0 and 1.
    pub weight: Option<Spanned<f64>>,
}

/// `[lambda].account_concurrency`, checked.
pub(super) fn account_concurrency(section: &LambdaSection, errors: &mut Errors<'_>) -> u32 {
    match &section.account_concurrency {
        None => DEFAULT_ACCOUNT_CONCURRENCY,
        Some(v) => match u32::try_from(*v.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.at(
                    Some(v.span().start),
                    format!(
                        "`account_concurrency` must be at least 1, not {}",
                        v.get_ref()
                    ),
                );
                DEFAULT_ACCOUNT_CONCURRENCY
            }
        },
    }
}

pub(super) fn resolve_function(
    name: &str,
    section: &FunctionSection,
    start: usize,
    logs: &LogsSection,
    registry: &Registry,
    errors: &mut Errors<'_>,
) -> Option<FunctionDecl> {
    let before = errors.list.len();
    let mut settings = FunctionSettings {
        log_format: section.log_format.or(logs.format).unwrap_or_default(),
        environment: section.environment.clone().into_iter().collect(),
        ..FunctionSettings::default()
    };
    let handler = code(
        name,
        &section.handler,
        &section.command,
        start,
        registry,
        errors,
        &mut settings,
    );
    memory(name, &section.memory_mb, errors, &mut settings);
    timeout(name, &section.timeout, errors, &mut settings);
    if let Some(cs) = &section.cold_start {
        settings.cold_start = cold_start(name, cs, errors);
    }
    if let Some(t) = &section.idle_timeout {
        match parse_duration(t.get_ref()) {
            Ok(d) if d >= Duration::from_secs(1) => settings.idle_timeout = d,
            Ok(_) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `idle_timeout` must be at least 1s"),
            ),
            Err(e) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `idle_timeout`: {e}"),
            ),
        }
    }
    let reserved = count(
        name,
        "reserved_concurrency",
        &section.reserved_concurrency,
        errors,
    );
    settings.reserved_concurrency = reserved;
    if let Some(p) = count(
        name,
        "provisioned_concurrency",
        &section.provisioned_concurrency,
        errors,
    ) {
        settings.provisioned_concurrency = p;
        if let (Some(r), Some(at)) = (reserved, &section.provisioned_concurrency) {
            if p > r {
                errors.at(Some(at.span().start), format!("function `{name}`: `provisioned_concurrency = {p}` is more than `reserved_concurrency = {r}`"));
            }
        }
    }
    if let Some(a) = &section.asynchronous {
        settings.asynchronous = asynchronous(name, a.get_ref(), errors);
    }
    let mut versions = Vec::new();
    for (i, v) in section.versions.iter().enumerate() {
        let number = (i + 1).to_string();
        let label = format!("{name}` version `{number}");
        let section = v.get_ref();
        let mut vs = settings.clone();
        if let Some(env) = &section.environment {
            vs.environment = env.clone().into_iter().collect();
        }
        let handler = if section.handler.is_some() || section.command.is_some() {
            vs.command = None;
            code(
                &label,
                &section.handler,
                &section.command,
                v.span().start,
                registry,
                errors,
                &mut vs,
            )
        } else {
            handler.clone()
        };
        memory(&label, &section.memory_mb, errors, &mut vs);
        timeout(&label, &section.timeout, errors, &mut vs);
        versions.push(VersionDecl {
            number,
            handler,
            settings: vs,
        });
    }
    let mut aliases = BTreeMap::new();
    for (alias, a) in &section.aliases {
        if let Some(routing) = alias_routing(name, alias, a, versions.len(), errors) {
            aliases.insert(alias.clone(), routing);
        }
    }
    (errors.list.len() == before).then_some(FunctionDecl {
        handler,
        settings,
        versions,
        aliases,
    })
}

/// The handler name, or the command (checked to exist) put into `settings`.
fn code(
    name: &str,
    handler: &Option<Spanned<String>>,
    command: &Option<Spanned<Vec<String>>>,
    start: usize,
    registry: &Registry,
    errors: &mut Errors<'_>,
    settings: &mut FunctionSettings,
) -> String {
    if let Some(command) = command {
        let at = Some(command.span().start);
        if handler.is_some() {
            errors.at(
                at,
                format!("function `{name}`: set `handler` or `command`, not both"),
            );
        }
        match command.get_ref().first() {
            None => errors.at(
                at,
                format!("function `{name}`: `command` needs at least the program"),
            ),
            Some(program) if find_program(program).is_none() => errors.at(
                at,
                format!(
                    "function `{name}`: command `{program}` does not exist or is not executable"
                ),
            ),
            Some(_) => settings.command = Some(command.get_ref().clone()),
        }
        return String::new();
    }
    let (handler, at) = match handler {
        Some(h) => (h.get_ref().clone(), h.span().start),
        None => (name.split('`').next().unwrap_or(name).to_owned(), start),
    };
    if !registry.contains(&handler) {
        errors.at(
            Some(at),
            format!(
                "function `{name}`: no handler named `{handler}` is registered (registered: {})",
                registry.names().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    handler
}

/// The path a program name resolves to, as a shell would find it.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| executable(p))
    })
}

fn memory(
    name: &str,
    mem: &Option<Spanned<i64>>,
    errors: &mut Errors<'_>,
    s: &mut FunctionSettings,
) {
    if let Some(mem) = mem {
        match u32::try_from(*mem.get_ref()) {
            Ok(m) if (128..=10240).contains(&m) => s.memory_mb = m,
            _ => errors.at(
                Some(mem.span().start),
                format!(
                    "function `{name}`: `memory_mb` must be between 128 and 10240, not {}",
                    mem.get_ref()
                ),
            ),
        }
    }
}

fn timeout(
    name: &str,
    t: &Option<Spanned<String>>,
    errors: &mut Errors<'_>,
    s: &mut FunctionSettings,
) {
    if let Some(t) = t {
        match parse_duration(t.get_ref()) {
            Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(900) => s.timeout = d,
            Ok(_) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `timeout` must be between 1s and 900s"),
            ),
            Err(e) => errors.at(
                Some(t.span().start),
                format!("function `{name}`: `timeout`: {e}"),
            ),
        }
    }
}

fn count(name: &str, key: &str, v: &Option<Spanned<i64>>, errors: &mut Errors<'_>) -> Option<u32> {
    let v = v.as_ref()?;
    match u32::try_from(*v.get_ref()) {
        Ok(n) => Some(n),
        Err(_) => {
            errors.at(
                Some(v.span().start),
                format!(
                    "function `{name}`: `{key}` must be 0 or more, not {}",
                    v.get_ref()
                ),
            );
            None
        }
    }
}

fn cold_start(name: &str, cs: &Spanned<ColdStartSection>, errors: &mut Errors<'_>) -> ColdStart {
    let at = Some(cs.span().start);
    let mut parse = |text: &str, what: &str| match parse_duration(text) {
        Ok(d) if d <= Duration::from_secs(600) => d,
        Ok(_) => {
            errors.at(
                at,
                format!("function `{name}`: `cold_start` {what} must be at most 600s"),
            );
            Duration::ZERO
        }
        Err(e) => {
            errors.at(at, format!("function `{name}`: `cold_start`{what}: {e}"));
            Duration::ZERO
        }
    };
    match cs.get_ref() {
        ColdStartSection::Fixed(text) => ColdStart::Fixed(parse(text, "")),
        ColdStartSection::Distribution(d) => {
            let (p50, p99) = (parse(&d.p50, " p50"), parse(&d.p99, " p99"));
            if p99 < p50 {
                errors.at(
                    at,
                    format!("function `{name}`: `cold_start` p99 must not be below p50"),
                );
            }
            ColdStart::Distribution { p50, p99 }
        }
    }
}

fn asynchronous(name: &str, a: &AsyncSection, errors: &mut Errors<'_>) -> AsyncSettings {
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

fn alias_routing(
    name: &str,
    alias: &str,
    a: &Spanned<AliasSection>,
    versions: usize,
    errors: &mut Errors<'_>,
) -> Option<AliasRouting> {
    let before = errors.list.len();
    let at = Some(a.span().start);
    let valid_name = !alias.is_empty()
        && alias != "$LATEST"
        && !alias.bytes().all(|b| b.is_ascii_digit())
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        errors.at(at, format!("function `{name}`: alias name `{alias}` must be letters, digits, - or _ and not only digits"));
    }
    let a = a.get_ref();
    let mut check = |v: &Spanned<String>| {
        let text = v.get_ref();
        let exists =
            text == "$LATEST" || text.parse::<usize>().is_ok_and(|n| n >= 1 && n <= versions);
        if !exists {
            errors.at(Some(v.span().start), format!("function `{name}`: alias `{alias}` points to version `{text}`, which does not exist (published versions: {versions})"));
        }
    };
    check(&a.version);
    if let Some(v) = &a.additional_version {
        check(v);
    }
    let additional = match (&a.additional_version, &a.weight) {
        (None, None) => None,
        (Some(v), Some(w)) => {
            let weight = *w.get_ref();
            if !(weight > 0.0 && weight < 1.0) {
                errors.at(Some(w.span().start), format!("function `{name}`: alias `{alias}` `weight` must be between 0 and 1, not {weight}"));
            }
            Some((v.get_ref().clone(), weight))
        }
        _ => {
            errors.at(at, format!("function `{name}`: alias `{alias}` needs both `additional_version` and `weight`, or neither"));
            None
        }
    };
    (errors.list.len() == before).then(|| AliasRouting {
        version: a.version.get_ref().clone(),
        additional,
    })
}

/// Checks `function:NAME` destinations once every function is known.
pub(super) fn check_destinations(
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

/// Whether a route's `function = "name"` or `"name:qualifier"` names something that exists.
pub(super) fn check_target(
    target: &str,
    functions: &BTreeMap<String, FunctionDecl>,
    registry: &Registry,
) -> Result<(), String> {
    let (fname, qualifier) = match target.split_once(':') {
        Some((f, q)) => (f, Some(q)),
        None => (target, None),
    };
    let decl = functions.get(fname);
    if decl.is_none() && !registry.contains(fname) {
        return Err(format!(
            "names function `{fname}`, which is neither declared under [functions] nor registered"
        ));
    }
    let Some(q) = qualifier else { return Ok(()) };
    let versions = decl.map_or(0, |d| d.versions.len());
    let known = q == "$LATEST"
        || q.parse::<usize>().is_ok_and(|n| n >= 1 && n <= versions)
        || decl.is_some_and(|d| d.aliases.contains_key(q));
    if known {
        Ok(())
    } else {
        Err(format!(
            "names `{target}`, but function `{fname}` has no version or alias `{q}`"
        ))
    }
}
