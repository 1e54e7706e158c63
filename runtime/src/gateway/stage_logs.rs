//! Each stage's access log (its format and destination) and execution log, resolved once at
//! start-up so a request only pushes a record; lines are formatted when read or written out.

use std::sync::Arc;

use crate::config::{AccessDestination, Api, ExecutionLogLevel};
use crate::observe::access_format::AccessFormat;
use crate::observe::{LogGroup, LogRecord, LogStore};

use super::Router;

/// A stage's log targets.
pub struct StageLogs {
    /// `$context.stage`
    pub stage: &'static str,
    /// `$context.apiId`
    pub api_id: &'static str,
    /// The stage's own access log, when configured.
    pub access: Option<(Arc<AccessFormat>, Arc<LogGroup>)>,
    /// The stage's execution log, when configured.
    pub execution: Option<(ExecutionLogLevel, Arc<LogGroup>)>,
}

/// The log group of a stage's access log.
pub fn access_group(api_id: &str, stage: &str) -> String {
    format!("API-Gateway-Access-Logs_{api_id}/{stage}")
}

/// The log group of a stage's execution log, as API Gateway names it.
pub fn execution_group(api_id: &str, stage: &str) -> String {
    format!("API-Gateway-Execution-Logs_{api_id}/{stage}")
}

/// Gives every mount its stage's log targets.
pub(crate) fn attach(router: &mut Router, apis: &[Api], logs: &LogStore) {
    for mount in router.mounts_mut() {
        let stage = apis
            .iter()
            .find(|a| a.name == mount.api_name)
            .and_then(|a| a.stages.iter().find(|s| s.name == mount.stage));
        let access = stage.and_then(|s| s.access_log.as_ref()).map(|config| {
            let name = access_group(&mount.api_id, &mount.stage);
            let group = match &config.destination {
                AccessDestination::Stdout => {
                    logs.group_writing_to(&name, Box::new(std::io::stdout()))
                }
                AccessDestination::File(path) => match std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    Ok(file) => logs.group_writing_to(&name, Box::new(file)),
                    Err(e) => {
                        // The directory was checked at validation; it may have gone since.
                        tracing::error!(path = %path.display(), error = %e, "access log file not opened; lines stay in the log group");
                        logs.group(&name)
                    }
                },
            };
            (config.format.clone(), group)
        });
        let execution = stage.and_then(|s| s.execution_log).map(|level| {
            (
                level,
                logs.group(&execution_group(&mount.api_id, &mount.stage)),
            )
        });
        mount.logs = Arc::new(StageLogs {
            stage: crate::observe::interned::intern(&mount.stage),
            api_id: crate::observe::interned::intern(&mount.api_id),
            access,
            execution,
        });
    }
}

/// One request in a stage's execution log.
pub struct ExecutionRecord {
    /// `$context.requestId`
    pub request_id: String,
    /// The method.
    pub method: http::Method,
    /// The request path.
    pub path: String,
    /// The matched route key, `-` for none.
    pub route_key: String,
    /// The final status.
    pub status: u16,
    /// The integration's latency in ms, when one ran.
    pub integration_ms: Option<u64>,
    /// The gateway error's detail, when there was one.
    pub error: Option<String>,
}

impl LogRecord for ExecutionRecord {
    fn lines(&self) -> Vec<String> {
        let id = &self.request_id;
        let mut lines = vec![
            format!("({id}) Extended Request Id: {id}"),
            format!(
                "({id}) Received request: {} {} (route {})",
                self.method, self.path, self.route_key
            ),
        ];
        if let Some(ms) = self.integration_ms {
            lines.push(format!("({id}) Integration latency: {ms} ms"));
        }
        if let Some(error) = &self.error {
            lines.push(format!("({id}) Execution failed: {error}"));
        }
        lines.push(format!(
            "({id}) Method completed with status: {}",
            self.status
        ));
        lines
    }
}
