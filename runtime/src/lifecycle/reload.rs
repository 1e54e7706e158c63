//! Reloading gateway.toml into a running [`Stack`]: validate, keep unchanged functions warm,
//! register new or changed workflows, swap.

use std::sync::Arc;

use serde::Serialize;

use super::LifecycleError;
use crate::config::Config;
use crate::stack::Stack;

/// What a reload changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadReport {
    /// Functions whose instances were kept warm.
    pub functions_kept: Vec<String>,
    /// Settings that changed in the file but apply only after a restart.
    pub needs_restart: Vec<String>,
}

impl Stack {
    /// Re-reads the config file the stack was started from and swaps it in when valid.
    pub async fn reload(&self) -> Result<ReloadReport, LifecycleError> {
        let Some(path) = self.inner.config_path.clone() else {
            return Err(LifecycleError::BadRequest(
                "the stack was not started from a config file".into(),
            ));
        };
        let config = Config::load(&path, &self.inner.registry).map_err(LifecycleError::Invalid);
        let config = match config {
            Ok(config) => config,
            Err(e) => {
                if let LifecycleError::Invalid(errors) = &e {
                    tracing::error!("reload rejected, the running config is kept:\n{errors}");
                }
                return Err(e);
            }
        };
        self.reload_config(config).await
    }

    /// Swaps in a validated config, keeping unchanged functions warm.
    pub async fn reload_config(&self, config: Config) -> Result<ReloadReport, LifecycleError> {
        let history = self.inner.changes.lock().await;
        let old = self.inner.live();
        let mut needs_restart = Vec::new();
        let (a, b) = (&old.config.server, &config.server);
        if a.listen != b.listen || a.admin_listen != b.admin_listen || a.data_dir != b.data_dir {
            needs_restart.push("[server] listen, admin_listen, data_dir".to_owned());
        }
        if format!("{:?}", old.config.traffic) != format!("{:?}", config.traffic) {
            needs_restart.push("[throttle], [[api_keys]], [[usage_plans]]".to_owned());
        }
        let (live, kept) = self.build_live(Arc::new(config), &history, Some(&old))?;
        self.register_workflows(&live.config);
        self.inner.swap(live);
        tracing::info!(kept = ?kept, "configuration reloaded");
        for what in &needs_restart {
            tracing::warn!("{what} changed; restart to apply");
        }
        Ok(ReloadReport {
            functions_kept: kept,
            needs_restart,
        })
    }

    fn register_workflows(&self, config: &Config) {
        for decl in config.workflows.values() {
            let created =
                self.inner
                    .workflows
                    .create_state_machine(crate::workflow::NewStateMachine {
                        name: decl.name.clone(),
                        definition: decl.definition.clone(),
                        role_arn: None,
                        kind: decl.kind,
                    });
            if created.is_err() {
                let arn = format!(
                    "arn:aws:states:{}:{}:stateMachine:{}",
                    crate::invoke::REGION,
                    crate::invoke::ACCOUNT_ID,
                    decl.name
                );
                let updated = self.inner.workflows.update_state_machine(
                    &arn,
                    Some(decl.definition.clone()),
                    None,
                );
                if let Err(e) = updated {
                    tracing::error!(workflow = %decl.name, error = %e, "workflow not reloaded");
                }
            }
        }
    }
}
