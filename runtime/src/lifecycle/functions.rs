//! Functions for a new generation: an unchanged function keeps its running instance (and so
//! its warm instances and counters); a new or changed one starts fresh.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::live::{Env, Live};
use crate::config::{Config, FunctionDecl};
use crate::invoke::{AccountConcurrency, Destination, Function};

/// Every function of `config`, reusing `previous`'s unchanged ones; also the account
/// concurrency they share and the names of the functions kept warm.
pub(crate) fn build(
    config: &Config,
    env: &Env<'_>,
    previous: Option<&Live>,
) -> (
    HashMap<String, Arc<Function>>,
    Arc<AccountConcurrency>,
    Vec<String>,
) {
    // The account-wide cap is one counter for all functions; when it changes, everything
    // starts over so no two counters split it.
    let previous = previous.filter(|p| p.config.account_concurrency == config.account_concurrency);
    let account = match previous {
        Some(p) => p.account.clone(),
        None => AccountConcurrency::new(config.account_concurrency),
    };
    let fresh = crate::invoke::build::functions(
        config,
        env.registry,
        env.logs,
        env.clock,
        &|cmd| Arc::new(crate::invoke::ExternalFactory::new(cmd)),
        &account,
    );
    let Some(previous) = previous else {
        start(config, env, &fresh, fresh.keys());
        return (fresh, account, Vec::new());
    };
    let kept = reusable(&previous.config, config, &fresh, &previous.functions);
    let mut functions = fresh;
    let started: Vec<String> = functions
        .keys()
        .filter(|name| !kept.contains(*name))
        .cloned()
        .collect();
    for name in &kept {
        if let Some(old) = previous.functions.get(name) {
            functions.insert(name.clone(), old.clone());
        }
    }
    start(config, env, &functions, started.iter());
    (functions, account, kept.into_iter().collect())
}

/// Names whose definition is unchanged and whose async destinations are kept too (a kept
/// function's destinations point at the old instances of those functions).
fn reusable(
    old: &Config,
    new: &Config,
    fresh: &HashMap<String, Arc<Function>>,
    running: &HashMap<String, Arc<Function>>,
) -> BTreeSet<String> {
    let mut kept: BTreeSet<String> = fresh
        .keys()
        .filter(|name| running.contains_key(*name))
        .filter(|name| same(old.functions.get(*name), new.functions.get(*name)))
        .cloned()
        .collect();
    loop {
        let before = kept.len();
        let snapshot = kept.clone();
        kept.retain(|name| {
            destinations(new.functions.get(name))
                .iter()
                .all(|d| snapshot.contains(d) || !fresh.contains_key(d))
        });
        if kept.len() == before {
            return kept;
        }
    }
}

/// Whether two declarations are the same. Compared through `Debug` because the settings hold
/// types (durations, destinations, alias weights) without `PartialEq`, and their `Debug`
/// output is deterministic (ordered maps).
fn same(a: Option<&FunctionDecl>, b: Option<&FunctionDecl>) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn destinations(decl: Option<&FunctionDecl>) -> Vec<String> {
    let Some(decl) = decl else {
        return Vec::new();
    };
    std::iter::once(&decl.settings)
        .chain(decl.versions.iter().map(|v| &v.settings))
        .flat_map(|s| [&s.asynchronous.on_success, &s.asynchronous.on_failure])
        .filter_map(|d| match d {
            Some(Destination::Function(name)) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Attaches metrics and the event store to new functions and starts their provisioned
/// instances.
fn start<'a>(
    config: &Config,
    env: &Env<'_>,
    functions: &HashMap<String, Arc<Function>>,
    names: impl Iterator<Item = &'a String>,
) {
    let mut new = HashMap::new();
    for name in names {
        if let Some(f) = functions.get(name) {
            if config.logs.metrics {
                let _ = f
                    .metrics
                    .set(crate::observe::lambda_metrics::LambdaMetrics::new(
                        env.metrics.clone(),
                        name,
                    ));
            }
            // Queued `Event` invocations of every generation's new functions survive restarts.
            if let Some(store) = env.events {
                for version in std::iter::once(f).chain(f.versions()) {
                    let _ = version.events.set(store.clone());
                }
            }
            new.insert(name.clone(), f.clone());
        }
    }
    crate::invoke::build::warm_provisioned(&new);
}
