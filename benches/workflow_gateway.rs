//! Synchronous EXPRESS executions per second through the gateway: `POST /run` runs a
//! 10-state Pass/Choice workflow and answers with its output; compared in the same run with
//! Portico → `echo` (a plain function route) to show what the workflow adds.
//! Run: `cargo bench --bench workflow_gateway` (needs wrk).

mod support;

use portico_runtime::{Config, Registry, Stack};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORKFLOW: &str = r#"{"StartAt": "S0", "States": {
  "S0": {"Type": "Pass", "Result": 1, "ResultPath": "$.n", "Next": "S1"},
  "S1": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 100, "Next": "S2"}], "Default": "Done"},
  "S2": {"Type": "Pass", "Next": "S3"},
  "S3": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "S4"}], "Default": "Done"},
  "S4": {"Type": "Pass", "Next": "S5"},
  "S5": {"Type": "Choice", "Choices": [{"Variable": "$.n", "IsPresent": true, "Next": "S6"}], "Default": "Done"},
  "S6": {"Type": "Pass", "Next": "S7"},
  "S7": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "S8"}], "Default": "Done"},
  "S8": {"Type": "Pass", "Next": "Done"},
  "Done": {"Type": "Succeed"}}}"#;

fn main() {
    support::require_wrk();
    let dir = std::env::temp_dir().join(format!("portico-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("flow.json"), WORKFLOW).unwrap();
    let toml = r#"
[logs]
stdout = false
# Lift the account throttle (AWS's default: 10,000 rps) so the bench measures the gateway.
[throttle]
rate_limit = 1000000000
burst_limit = 1000000000
[workflows.flow]
definition = "flow.json"
type = "EXPRESS"
[apis.bench]
type = "http"
[[apis.bench.routes]]
route = "POST /run"
workflow = "flow"
sync = true
[[apis.bench.routes]]
route = "POST /echo"
function = "echo"
"#;
    let config_path = dir.join("gateway.toml");
    std::fs::write(&config_path, toml).unwrap();
    let post = dir.join("post.lua");
    std::fs::write(&post, "wrk.method = \"POST\"\nwrk.body = '{\"order\": 1}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let mut registry = Registry::new();
        portico_functions::register_all(&mut registry);
        let config = Config::load(&config_path, &registry).unwrap_or_else(|e| panic!("{e}"));
        support::serve_stack(Stack::builder(config, &registry).build()).await
    });
    let script = post.to_string_lossy().into_owned();
    println!(
        "workflow gateway benchmark: {} s per run, wrk -t2 -c16",
        support::seconds()
    );
    let echo = support::wrk(&format!("http://{addr}/echo"), 16, &["-s", &script]);
    let flow = support::wrk(&format!("http://{addr}/run"), 16, &["-s", &script]);
    support::row("portico -> echo function", 16, &echo, &echo);
    support::row("portico -> sync EXPRESS (10 states)", 16, &flow, &echo);
    println!(
        "= {:.0} synchronous EXPRESS executions/s, {:.0} state transitions/s through the gateway",
        flow.requests_per_sec,
        flow.requests_per_sec * 10.0
    );
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}
