//! Step Functions' metrics per state machine (`AWS/States`: ExecutionsStarted,
//! ExecutionsSucceeded, ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted, ExecutionTime).

use std::sync::Arc;

use super::metrics::{Kind, Metrics};
use crate::workflow::{Execution, ExecutionStatus};

const NAMESPACE: &str = "AWS/States";

fn count(metrics: &Metrics, name: &'static str, machine_arn: &str) {
    let series = metrics.series(
        NAMESPACE,
        name,
        vec![("StateMachineArn", machine_arn.to_owned())],
        Kind::Counter,
    );
    metrics.record(&series, 1);
}

/// Counts an execution of `machine_arn` as started.
pub fn started(metrics: Option<&Arc<Metrics>>, machine_arn: &str) {
    if let Some(m) = metrics {
        count(m, "ExecutionsStarted", machine_arn);
    }
}

/// Records how an execution ended and, if it did, how long it ran.
pub fn finished(metrics: Option<&Arc<Metrics>>, execution: &Execution) {
    let Some(m) = metrics else { return };
    let name = match execution.status {
        ExecutionStatus::Running => return,
        ExecutionStatus::Succeeded => "ExecutionsSucceeded",
        ExecutionStatus::Failed => "ExecutionsFailed",
        ExecutionStatus::TimedOut => "ExecutionsTimedOut",
        ExecutionStatus::Aborted => "ExecutionsAborted",
    };
    count(m, name, &execution.state_machine_arn);
    if let Some(stop) = execution.stop_date {
        let us = stop
            .duration_since(execution.start_date)
            .unwrap_or_default()
            .as_micros() as u64;
        let series = m.series(
            NAMESPACE,
            "ExecutionTime",
            vec![("StateMachineArn", execution.state_machine_arn.clone())],
            Kind::Distribution,
        );
        m.record(&series, us);
    }
}
