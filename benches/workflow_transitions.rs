//! State transitions per second for a Pass/Choice chain: the pure step function alone, and
//! the full async driver (history, context, data flow). Run with `cargo bench --bench
//! workflow_transitions`.

use std::sync::Arc;
use std::time::Instant;

use portico_runtime::workflow::plan::Plan;
use portico_runtime::workflow::step::{step, Action};
use portico_runtime::workflow::template::Env;
use portico_runtime::workflow::{MachineType, NewStateMachine, NoFunctions, WorkflowService};
use portico_runtime::Clock;
use serde_json::{json, Map, Value};

const STATES: usize = 200;

fn chain() -> String {
    let mut states = Map::new();
    for i in 0..STATES {
        let next = if i + 1 == STATES {
            "Done".to_string()
        } else {
            format!("S{}", i + 1)
        };
        let state = if i % 2 == 0 {
            json!({"Type": "Pass", "Next": next})
        } else {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 100, "Next": next}], "Default": "Done"})
        };
        states.insert(format!("S{i}"), state);
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": "S0", "States": states}).to_string()
}

fn main() {
    let def: Value = serde_json::from_str(&chain()).expect("valid JSON");
    let plan = Plan::build(&def).expect("valid plan");
    let input = json!({"n": 1, "name": "bench"});
    let vars = Map::new();
    let ctx = Value::Null;
    let env = Env {
        context: &ctx,
        vars: &vars,
    };

    let rounds = 5_000;
    let started = Instant::now();
    let mut transitions = 0u64;
    for _ in 0..rounds {
        let mut idx = plan.start;
        let mut cur = input.clone();
        loop {
            match step(&plan.states[idx], &cur, &env) {
                Ok(Action::Done(d)) => {
                    transitions += 1;
                    match d.next {
                        Some(n) => {
                            idx = n;
                            cur = d.output;
                        }
                        _ => break,
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "step function: {:.0} transitions/s ({transitions} in {secs:.3}s)",
        transitions as f64 / secs
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let svc = WorkflowService::new(Clock::system(), Arc::new(NoFunctions));
        let sm = svc
            .create_state_machine(NewStateMachine {
                name: "bench".into(),
                definition: chain(),
                role_arn: None,
                kind: MachineType::Express,
            })
            .expect("created");
        let runs = 500;
        let started = Instant::now();
        for i in 0..runs {
            let e = svc
                .start_sync_execution(&sm.arn, Some(format!("r{i}")), Some(input.to_string()))
                .await
                .expect("ran");
            assert_eq!(e.status.as_str(), "SUCCEEDED");
        }
        let secs = started.elapsed().as_secs_f64();
        let transitions = runs as f64 * (STATES + 1) as f64;
        println!(
            "driver (history + context): {:.0} transitions/s ({transitions} in {secs:.3}s)",
            transitions / secs
        );
    });
}
