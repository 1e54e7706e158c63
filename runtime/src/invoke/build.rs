//! Turns the config's functions and the registry's handlers into running [`Function`]s:
//! versions, aliases, shared concurrency, and resolved async destinations.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use super::asynchronous::{AsyncQueue, Target};
use super::concurrency::{AccountConcurrency, Concurrency};
use super::instance::Factory;
use super::qualifiers::Qualifiers;
use super::{Destination, Function, FunctionParts, FunctionSettings, Registry};
use crate::config::Config;
use crate::observe::LogStore;
use crate::Clock;

/// Makes the factory for code that is not a registered handler (an external command).
pub(crate) type CommandFactory<'a> = dyn Fn(&[String]) -> Arc<dyn Factory> + 'a;

/// Every function of the stack, `$LATEST` by name, with versions and aliases inside.
pub(crate) fn functions(
    config: &Config,
    registry: &Registry,
    logs: &Arc<LogStore>,
    clock: &Clock,
    command: &CommandFactory<'_>,
    account: &Arc<AccountConcurrency>,
) -> HashMap<String, Arc<Function>> {
    let make = |name: &str, handler: &str, settings: &FunctionSettings| {
        match &settings.command {
            Some(cmd) => Some(command(cmd)),
            None => registry.get(handler),
        }
        .map(|factory| (name.to_owned(), factory, settings.clone()))
    };
    let mut functions = HashMap::new();
    // Every registered handler is a function with default settings; [functions.X] tables
    // set a function's settings and may run another handler under a new name.
    for name in registry.names() {
        if let Some((name, factory, settings)) = make(name, name, &FunctionSettings::default()) {
            let concurrency = Concurrency::new(None, account.clone());
            let parts = parts(
                factory,
                "$LATEST",
                logs,
                clock,
                concurrency,
                Qualifiers::default(),
            );
            functions.insert(
                name.clone(),
                Arc::new(Function::new(&name, settings, parts)),
            );
        }
    }
    for (name, decl) in &config.functions {
        let Some((_, factory, settings)) = make(name, &decl.handler, &decl.settings) else {
            continue;
        };
        let concurrency = Concurrency::new(settings.reserved_concurrency, account.clone());
        let mut versions = BTreeMap::new();
        for v in &decl.versions {
            if let Some((_, vf, vs)) = make(name, &v.handler, &v.settings) {
                let p = parts(
                    vf,
                    &v.number,
                    logs,
                    clock,
                    concurrency.clone(),
                    Qualifiers::default(),
                );
                versions.insert(v.number.clone(), Arc::new(Function::new(name, vs, p)));
            }
        }
        let aliases = decl.aliases.clone().into_iter().collect();
        let qualifiers = Qualifiers::new(versions, aliases);
        let p = parts(factory, "$LATEST", logs, clock, concurrency, qualifiers);
        functions.insert(name.clone(), Arc::new(Function::new(name, settings, p)));
    }
    for function in functions.values() {
        for version in std::iter::once(function).chain(function.versions()) {
            let queue = queue(&version.settings().asynchronous, &functions);
            let _ = version.queue.set(queue);
        }
    }
    functions
}

fn parts(
    factory: Arc<dyn Factory>,
    version: &str,
    logs: &Arc<LogStore>,
    clock: &Clock,
    concurrency: Arc<Concurrency>,
    qualifiers: Qualifiers,
) -> FunctionParts {
    FunctionParts {
        factory,
        version: version.to_owned(),
        logs: logs.clone(),
        clock: clock.clone(),
        concurrency,
        qualifiers,
    }
}

fn queue(
    settings: &super::AsyncSettings,
    functions: &HashMap<String, Arc<Function>>,
) -> AsyncQueue {
    let target = |d: &Option<Destination>| {
        d.as_ref().and_then(|d| match d {
            Destination::File(path) => Some(Target::File(path.clone())),
            // Weak: destinations may form cycles between functions.
            Destination::Function(name) => functions
                .get(name)
                .map(|f| Target::Function(Arc::downgrade(f) as Weak<Function>)),
        })
    };
    AsyncQueue::new(target(&settings.on_success), target(&settings.on_failure))
}

/// Starts initializing provisioned instances in the background, when a runtime is running.
pub(crate) fn warm_provisioned(functions: &HashMap<String, Arc<Function>>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for function in functions.values() {
        for version in std::iter::once(function).chain(function.versions()) {
            if version.settings().provisioned_concurrency > 0 {
                let v = version.clone();
                runtime.spawn(async move { v.ensure_provisioned().await });
            }
        }
    }
}
