//! `[functions.NAME.aliases]` and route targets naming a version or an alias, checked.

use std::collections::BTreeMap;

use toml::Spanned;

use super::super::error::Errors;
use super::super::FunctionDecl;
use super::AliasSection;
use crate::invoke::{AliasRouting, Registry};

pub(super) fn alias_routing(
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

/// Whether a route's `function = "name"` or `"name:qualifier"` names something that exists.
pub(in crate::config) fn check_target(
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
