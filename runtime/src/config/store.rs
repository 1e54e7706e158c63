//! `[store]`: which store holds the stack's state, where, and what to do when it is down.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::duration::parse_duration;
use super::error::Errors;

/// The data directory when `[store] path` is not set, relative to the config file.
pub const DEFAULT_DATA_DIR: &str = ".portico";

/// How long one Redis call may take when `[store] op_timeout` is not set.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(1);
/// The shortest `op_timeout`: below it a round trip on a busy machine already outlives it.
pub const MIN_OP_TIMEOUT: Duration = Duration::from_millis(10);
/// The longest `op_timeout`: past it requests would wait on a dead Redis for longer than
/// API Gateway's own 29 s integration limit twice over.
pub const MAX_OP_TIMEOUT: Duration = Duration::from_secs(60);

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `"memory"`, `"embedded"` or `"redis"`.
    pub kind: Option<Spanned<String>>,
    /// The embedded store's data directory, relative to the config file.
    pub path: Option<Spanned<String>>,
    /// The Redis URL (`redis://host:port/db`).
    pub url: Option<Spanned<String>>,
    /// `"fail_closed"` (the default) or `"fail_open"`.
    pub on_unavailable: Option<Spanned<String>>,
    /// `true` when `url` names a node of a Redis Cluster.
    pub cluster: Option<Spanned<bool>>,
    /// How long one Redis call may take before Redis counts as unavailable (`"2s"`).
    pub op_timeout: Option<Spanned<String>>,
}

/// Which implementation of [`crate::store::Store`] to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// In process; lost on exit.
    Memory,
    /// A SQLite file in the data directory; survives `kill -9`.
    Embedded,
    /// A Redis server shared by several replicas.
    Redis,
}

impl StoreKind {
    /// Parses `memory`, `embedded` or `redis`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "memory" => Some(StoreKind::Memory),
            "embedded" => Some(StoreKind::Embedded),
            "redis" => Some(StoreKind::Redis),
            _ => None,
        }
    }
}

/// What admission does while a remote store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnUnavailable {
    /// Refuse what needs the store (503): nothing is admitted beyond the limits.
    #[default]
    FailClosed,
    /// Admit on local limits only.
    FailOpen,
}

/// `[store]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The kind set in the file; `None` lets the caller choose (`portico serve` picks
    /// embedded, `Stack::builder` memory).
    pub kind: Option<StoreKind>,
    /// The embedded store's data directory, resolved against the config file's directory.
    pub path: PathBuf,
    /// The Redis URL, required when `kind = "redis"`.
    pub url: Option<String>,
    /// What to do while the store is unavailable.
    pub on_unavailable: OnUnavailable,
    /// Whether `url` names a node of a Redis Cluster (the others are discovered from it).
    pub cluster: bool,
    /// How long one Redis call may take before Redis counts as unavailable.
    pub op_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: None,
            path: PathBuf::from(DEFAULT_DATA_DIR),
            url: None,
            on_unavailable: OnUnavailable::FailClosed,
            cluster: false,
            op_timeout: DEFAULT_OP_TIMEOUT,
        }
    }
}

pub(super) fn resolve(
    section: &StoreSection,
    config_file: &str,
    errors: &mut Errors<'_>,
) -> StoreConfig {
    let base = Path::new(config_file).parent().unwrap_or(Path::new(""));
    let mut config = StoreConfig {
        path: base.join(DEFAULT_DATA_DIR),
        ..StoreConfig::default()
    };
    if let Some(kind) = &section.kind {
        match StoreKind::parse(kind.get_ref()) {
            Some(StoreKind::Redis) => {
                config.kind = Some(StoreKind::Redis);
                if section.url.is_none() {
                    errors.at(
                        Some(kind.span().start),
                        "`[store] kind = \"redis\"` needs `url = \"redis://host:port\"`",
                    );
                }
            }
            Some(k) => config.kind = Some(k),
            None => errors.at(
                Some(kind.span().start),
                format!(
                    "`[store] kind = \"{}\"` must be \"memory\", \"embedded\" or \"redis\"",
                    kind.get_ref()
                ),
            ),
        }
    }
    if let Some(path) = &section.path {
        if path.get_ref().trim().is_empty() {
            errors.at(Some(path.span().start), "`[store] path` must not be empty");
        } else {
            config.path = base.join(path.get_ref());
        }
    }
    if let Some(url) = &section.url {
        let text = url.get_ref();
        if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
            errors.at(
                Some(url.span().start),
                format!("`[store] url = \"{text}\"` must start with redis:// or rediss://"),
            );
        } else {
            config.url = Some(text.clone());
        }
    }
    if let Some(mode) = &section.on_unavailable {
        match mode.get_ref().as_str() {
            "fail_closed" => config.on_unavailable = OnUnavailable::FailClosed,
            "fail_open" => config.on_unavailable = OnUnavailable::FailOpen,
            other => errors.at(
                Some(mode.span().start),
                format!(
                    "`[store] on_unavailable = \"{other}\"` must be \"fail_closed\" or \"fail_open\""
                ),
            ),
        }
    }
    // Settings another kind would ignore are refused rather than silently dropped.
    if config.kind == Some(StoreKind::Memory) {
        if let Some(path) = &section.path {
            errors.at(
                Some(path.span().start),
                "`[store] path` only applies to `kind = \"embedded\"`",
            );
        }
    }
    let redis = config.kind == Some(StoreKind::Redis);
    if let (Some(url), true, false) = (&section.url, config.url.is_some(), redis) {
        errors.at(
            Some(url.span().start),
            "`[store] url` only applies to `kind = \"redis\"`",
        );
    }
    if let Some(cluster) = &section.cluster {
        if redis {
            config.cluster = *cluster.get_ref();
        } else {
            errors.at(
                Some(cluster.span().start),
                "`[store] cluster` only applies to `kind = \"redis\"`",
            );
        }
    }
    if let Some(timeout) = &section.op_timeout {
        let at = Some(timeout.span().start);
        match op_timeout(timeout.get_ref()) {
            Err(e) => errors.at(at, format!("`[store] op_timeout`: {e}")),
            Ok(_) if !redis => errors.at(
                at,
                "`[store] op_timeout` only applies to `kind = \"redis\"`",
            ),
            Ok(d) => config.op_timeout = d,
        }
    }
    let mode_valid = section
        .on_unavailable
        .as_ref()
        .filter(|m| matches!(m.get_ref().as_str(), "fail_closed" | "fail_open"));
    if let (Some(mode), false) = (mode_valid, redis) {
        errors.at(
            Some(mode.span().start),
            "`[store] on_unavailable` only applies to `kind = \"redis\"`",
        );
    }
    config
}

/// A duration within [`MIN_OP_TIMEOUT`] ..= [`MAX_OP_TIMEOUT`].
fn op_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if !(MIN_OP_TIMEOUT..=MAX_OP_TIMEOUT).contains(&d) {
        return Err(format!("`{text}` must be between 10ms and 60s"));
    }
    Ok(d)
}
