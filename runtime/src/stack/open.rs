//! Opening a stack on its store and reading back the state the store holds.

use std::sync::Arc;

use super::{Stack, StackBuilder};
use crate::config::StoreKind;
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
    /// The deployment history cannot be read or does not apply to the config.
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

    /// Opens the store, assembles the stack and reads back the state the store holds (API
    /// keys, Standard executions). Fails, naming the path, when the store cannot be opened
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
        let stack = self.store(store).try_build().map_err(StartError::Config)?;
        match (stack.restore().await, location) {
            (Err(StartError::Restore(why)), Some(path)) => Err(StartError::Restore(format!(
                "{why} (in `{}`)",
                path.display()
            ))),
            (result, _) => result.map(|()| stack),
        }
    }
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
