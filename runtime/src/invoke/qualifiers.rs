//! Published versions and aliases of a function: a qualifier (`$LATEST`, `3`, `live`) names
//! the version that runs; an alias may split traffic by weight between two versions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Function;
use crate::observe::ids;

/// An alias: a version, and optionally a second version taking `weight` of the traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRouting {
    /// The version the alias points to.
    pub version: String,
    /// A second version and the fraction (0 to 1) of invocations it gets.
    pub additional: Option<(String, f64)>,
}

/// The versions and aliases of a function; empty on the versions themselves.
#[derive(Default)]
pub(crate) struct Qualifiers {
    versions: BTreeMap<String, Arc<Function>>,
    aliases: HashMap<String, AliasRouting>,
}

impl Qualifiers {
    pub(crate) fn new(
        versions: BTreeMap<String, Arc<Function>>,
        aliases: HashMap<String, AliasRouting>,
    ) -> Self {
        Qualifiers { versions, aliases }
    }

    pub(crate) fn versions(&self) -> impl Iterator<Item = &Arc<Function>> {
        self.versions.values()
    }
}

impl Function {
    /// The version a qualifier names: `None` or `$LATEST` is this function, a number is a
    /// published version, an alias picks its version (by weight when it splits traffic).
    /// `None` when the qualifier names nothing.
    pub fn qualified(self: &Arc<Self>, qualifier: Option<&str>) -> Option<Arc<Function>> {
        let q = match qualifier {
            None | Some("$LATEST") => return Some(self.clone()),
            Some(q) => q,
        };
        if let Some(v) = self.qualifiers.versions.get(q) {
            return Some(v.clone());
        }
        let alias = self.qualifiers.aliases.get(q)?;
        let version = match &alias.additional {
            Some((other, weight)) if ids::unit_f64() < *weight => other,
            _ => &alias.version,
        };
        self.qualified(Some(version))
    }

    /// Published versions, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &Arc<Function>> {
        self.qualifiers.versions()
    }
}
