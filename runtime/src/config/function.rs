//! `[functions.NAME]` and `[lambda]`: a function's handler or command, limits, cold starts,
//! concurrency, asynchronous invocation, versions and aliases — validated with every error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

mod asynchronous;
mod qualifiers;
mod sections;

pub(super) use asynchronous::check_destinations;
pub(super) use qualifiers::check_target;
pub use sections::{AliasSection, AsyncSection, ColdStartSection, LambdaSection, VersionSection};

use asynchronous::asynchronous;
use qualifiers::alias_routing;

use super::error::Errors;
use super::schema::{FunctionSection, LogsSection};
use super::{parse_duration, FunctionDecl, VersionDecl};
use crate::invoke::{ColdStart, FunctionSettings, Registry, DEFAULT_ACCOUNT_CONCURRENCY};

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
