//! The checked plan: states by index, transitions resolved to indices, paths and templates
//! pre-parsed. Built from ASL JSON (the TOML form converts to it first).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::choice::Rule;
use super::error::Diagnostic;
use super::paths::Path;
use super::task::Resource;
use super::template::Template;

mod compile;

pub(crate) use compile::compile;

/// An `InputPath`/`OutputPath`/`ResultPath`-style setting.
#[derive(Debug, Clone, PartialEq)]
pub enum PathSetting {
    /// Not given: `$`.
    Default,
    /// Given as `null`: discard (input → `{}`, result → ignored).
    Null,
    /// A path.
    Path(Path),
}

/// A number that is fixed, read from a path, or computed by JSONata.
#[derive(Debug, Clone, PartialEq)]
pub enum Dyn {
    /// A literal.
    Fixed(Value),
    /// `...Path`: read from the effective input.
    Path(Path),
}

/// A retrier (`Retry` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// Seconds before the first retry (default 1).
    pub interval_seconds: f64,
    /// Attempts before giving up (default 3).
    pub max_attempts: u64,
    /// Multiplier per attempt (default 2.0).
    pub backoff_rate: f64,
    /// Cap on the interval.
    pub max_delay_seconds: Option<f64>,
    /// `FULL` jitter randomizes the interval.
    pub full_jitter: bool,
}

/// A catcher (`Catch` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// Where the error output goes in the state input (JSONPath).
    pub result_path: PathSetting,
    /// The state to go to.
    pub next: usize,
    /// JSONata `Output`.
    pub output: Option<Value>,
    /// Variables to assign.
    pub assign: Option<Value>,
}

/// A Choice branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The condition.
    pub rule: Rule,
    /// Where to go when it holds.
    pub next: usize,
    /// Variables to assign.
    pub assign: Option<Value>,
    /// JSONata `Output`.
    pub output: Option<Value>,
}

/// How a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds` (a number, or a JSONata string).
    Seconds(Value),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp` (a string, possibly JSONata).
    Timestamp(Value),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// A Map state's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSpec {
    /// The iteration body.
    pub processor: Arc<Plan>,
    /// `ItemsPath` (JSONPath).
    pub items_path: PathSetting,
    /// `Items` (JSONata, or a literal array).
    pub items: Option<Value>,
    /// `ItemSelector` / legacy `Parameters` (JSONPath template) or raw JSONata value.
    pub item_selector: Option<Template>,
    /// Raw `ItemSelector` for JSONata states.
    pub item_selector_raw: Option<Value>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`.
    pub max_concurrency: Option<Dyn>,
    /// `ToleratedFailureCount` / `...Path`.
    pub tolerated_count: Option<Dyn>,
    /// `ToleratedFailurePercentage` / `...Path`.
    pub tolerated_pct: Option<Dyn>,
    /// `ItemBatcher`.
    pub batcher: Option<Value>,
    /// Distributed mode (`ProcessorConfig.Mode = DISTRIBUTED`).
    pub distributed: bool,
}

/// What a state does.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Pass, with its optional `Result`.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// Task.
    Task {
        /// The resolved resource.
        resource: Resource,
        /// `TimeoutSeconds` / `TimeoutSecondsPath`.
        timeout: Option<Dyn>,
        /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
        heartbeat: Option<Dyn>,
    },
    /// Choice.
    Choice {
        /// Branches in order.
        branches: Vec<Branch>,
        /// `Default`.
        default: Option<usize>,
    },
    /// Wait.
    Wait(WaitFor),
    /// Succeed.
    Succeed,
    /// Fail.
    Fail {
        /// `Error` (literal or JSONata).
        error: Option<Value>,
        /// `Cause`.
        cause: Option<Value>,
        /// `ErrorPath` (path or intrinsic).
        error_path: Option<Template>,
        /// `CausePath`.
        cause_path: Option<Template>,
    },
    /// Parallel.
    Parallel {
        /// One plan per branch.
        branches: Vec<Arc<Plan>>,
    },
    /// Map.
    Map(Box<MapSpec>),
}

/// One state of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Its name.
    pub name: String,
    /// Whether it uses JSONata.
    pub jsonata: bool,
    /// What it does.
    pub kind: Kind,
    /// The next state; `None` ends the (sub)machine.
    pub next: Option<usize>,
    /// `InputPath`.
    pub input_path: PathSetting,
    /// `OutputPath`.
    pub output_path: PathSetting,
    /// `ResultPath`.
    pub result_path: PathSetting,
    /// `Parameters` (JSONPath).
    pub parameters: Option<Template>,
    /// `ResultSelector` (JSONPath).
    pub result_selector: Option<Template>,
    /// `Arguments` (JSONata).
    pub arguments: Option<Value>,
    /// `Output` (JSONata).
    pub output: Option<Value>,
    /// `Assign`: raw for JSONata, compiled for JSONPath.
    pub assign: Option<Value>,
    /// Compiled `Assign` for JSONPath states.
    pub assign_template: Option<Template>,
    /// Whether the state reads the context object (`$$`, JSONata, Wait, Map), so the
    /// driver builds it only when needed.
    pub needs_context: bool,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// A compiled state machine (or Parallel branch / Map processor).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// States by index.
    pub states: Vec<State>,
    /// Index of `StartAt`.
    pub start: usize,
    /// `TimeoutSeconds` of the machine.
    pub timeout_seconds: Option<u64>,
    /// State name → index.
    pub index: HashMap<String, usize>,
}

impl Plan {
    /// Compiles a parsed definition. Every problem found is returned at once.
    pub fn build(def: &Value) -> Result<Plan, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let plan = compile(def, "", false, &mut diags);
        match plan {
            Some(p) if diags.is_empty() => Ok(p),
            _ => Err(diags),
        }
    }

    /// The state with this name.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|i| &self.states[*i])
    }
}
