//! Opening a stack on its store and reading back the state the store holds.

use std::path::Path;
use std::sync::Arc;

use super::{Stack, StackBuilder};
use crate::config::StoreKind;
use crate::lifecycle::{stored, History};
use crate::store::{OpenError, Store, StoreError};

/// Why a stack could not start on its store.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The Redis store could not be reached (never replaced by a local store).
    #[error("cannot start on the Redis store: {0}")]
    Connect(#[from] StoreError),
    /// The state in the store could not be read back.
    #[error("cannot read back the stored state: {0}")]
    Restore(String),
    /// The deployment history (a store record, or the file being imported) cannot be read.
    #[error("cannot read the deployment history: {0}")]
    Deployments(String),
    /// The deployment history does not apply to the config.
    #[error("{0}")]
    Config(crate::config::ConfigErrors),
}

impl StackBuilder<'_> {
    /// Runs on `store` instead of the one `[store]` names.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The store kind used when the config sets no `[store] kind`: memory unless told
    /// otherwise (`portico serve` passes embedded).
    pub fn default_store(mut self, kind: StoreKind) -> Self {
        self.default_store = kind;
        self
    }

    /// Opens the store, assembles the stack and reads back the state the store holds (the
    /// deployment history, API keys, Standard executions). Fails, naming the path, when the store cannot be opened
    /// or its contents read; never falls back to memory.
    pub async fn open(mut self) -> Result<Stack, StartError> {
        let embedded = self.store.is_none()
            && self.config.store.kind.unwrap_or(self.default_store) == StoreKind::Embedded;
        let location =
            embedded.then(|| self.config.store.path.join(crate::store::embedded::DB_FILE));
        let store = match self.store.take() {
            Some(store) => store,
            None => match self.config.store.kind.unwrap_or(self.default_store) {
                StoreKind::Redis => {
                    crate::store::redis::open(&self.config.store, self.clock.clone()).await?
                }
                _ => {
                    crate::store::open(&self.config.store, self.default_store, self.clock.clone())?
                }
            },
        };
        let (history, version) = read_deployments(&*store, &self.config.server.data_dir)
            .await
            .map_err(|why| match &location {
                Some(path) => StartError::Deployments(format!("{why} (in `{}`)", path.display())),
                None => StartError::Deployments(why),
            })?;
        let stack = self
            .store(store)
            .assemble(history, version)
            .map_err(StartError::Config)?;
        match (stack.restore().await, location) {
            (Err(StartError::Restore(why)), Some(path)) => Err(StartError::Restore(format!(
                "{why} (in `{}`)",
                path.display()
            ))),
            (result, _) => result.map(|()| stack),
        }
    }
}

/// The deployment history the store holds (importing `{data_dir}/deployments.json` into a
/// durable store that holds none yet), and the shared version it was read at.
async fn read_deployments(store: &dyn Store, data_dir: &Path) -> Result<(History, u64), String> {
    // Read before the records: a change landing in between is then seen as newer.
    let version = if store.is_shared() {
        stored::version(store).await.map_err(|e| e.to_string())?
    } else {
        0
    };
    if store.durable() {
        stored::import_file(store, data_dir).await?;
    }
    Ok((stored::load(store).await?, version))
}

impl Stack {
    /// Reads back the state the store holds: API keys created or changed at runtime,
    /// Standard executions (see [`crate::workflow::persist`]) and pending `Event`
    /// invocations, which run again (see [`crate::invoke::event_store`]).
    pub async fn restore(&self) -> Result<(), StartError> {
        let keys = self
            .inner
            .traffic
            .control()
            .restore_keys()
            .await
            .map_err(|e| StartError::Restore(e.to_string()))?;
        let executions = self
            .inner
            .workflows
            .restore()
            .await
            .map_err(|e: StoreError| StartError::Restore(e.to_string()))?;
        let events = crate::invoke::event_store::resume_all(&self.inner.store, |name| {
            self.inner.live().functions.get(name).cloned()
        })
        .await
        .map_err(|e| StartError::Restore(e.to_string()))?;
        if keys + executions + events > 0 {
            tracing::info!(keys, executions, events, "state read back from the store");
        }
        Ok(())
    }

    /// The store holding the stack's state.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
}
