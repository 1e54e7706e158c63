//! Runs every execution recorded against AWS in `../shared/conformance/asl/cases.jsonl`
//! through the workflow engine on a manual clock and compares status, output and error.
//!
//! Set `ASL_VERBOSE=1` to print every failing case; `ASL_FILTER=text` to run matching ids.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use portico_runtime::workflow::{
    ExecutionStatus, MachineType, NewStateMachine, NoFunctions, WorkflowService,
};
use portico_runtime::Clock;
use serde_json::Value;

/// The number of cases that passed when this floor was last raised; a drop fails the test.
const PASS_FLOOR: usize = 613;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/asl/cases.jsonl"
);

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

async fn run_case(case: &Value) -> Result<(), String> {
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let svc = WorkflowService::new(clock.clone(), Arc::new(NoFunctions));
    let express = case["execution_kind"] == "start_sync_execution";
    let definition = case["definition"].as_str().unwrap_or_default().to_string();
    let sm = svc
        .create_state_machine(NewStateMachine {
            name: "conformance".into(),
            definition,
            role_arn: None,
            kind: if express {
                MachineType::Express
            } else {
                MachineType::Standard
            },
        })
        .map_err(|e| format!("create failed: {e}"))?;
    let input = case["input"].as_str().map(str::to_string);
    let (arn, _) = svc
        .start_execution(&sm.arn, Some("exec".into()), input)
        .await
        .map_err(|e| format!("start failed: {e}"))?;
    let mut spins = 0u32;
    let exec = loop {
        let e = svc.describe_execution(&arn).map_err(|e| e.to_string())?;
        if e.status != ExecutionStatus::Running {
            break e;
        }
        spins += 1;
        if spins > 200_000 {
            return Err("execution did not finish".into());
        }
        tokio::task::yield_now().await;
        if spins % 8 == 0 && clock.sleepers() > 0 {
            clock.advance(Duration::from_millis(500));
        }
    };
    let expected = &case["expected"];
    let status = exec.status.as_str();
    if expected["status"] != status {
        return Err(format!(
            "status {status} (error {:?}, cause {:?}, output {:?}), expected {}",
            exec.error,
            exec.cause,
            exec.output.map(|o| o.to_string()),
            expected
        ));
    }
    if status == "SUCCEEDED" {
        let out = exec.output.unwrap_or(Value::Null);
        if !json_eq(&out, &expected["output"]) {
            return Err(format!("output {out}, expected {}", expected["output"]));
        }
    } else {
        let want = expected.get("error").and_then(Value::as_str);
        if exec.error.as_deref() != want {
            return Err(format!(
                "error {:?} (cause {:?}), expected {:?} ({:?})",
                exec.error,
                exec.cause,
                want,
                expected.get("cause")
            ));
        }
        let want_cause = expected.get("cause").and_then(Value::as_str);
        if std::env::var("ASL_STRICT").is_ok() && exec.cause.as_deref() != want_cause {
            return Err(format!("cause {:?}, expected {:?}", exec.cause, want_cause));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn asl_conformance() {
    let Ok(text) = std::fs::read_to_string(CASES) else {
        eprintln!("!!!!! SKIPPING asl_conformance: {CASES} is absent !!!!!");
        return;
    };
    let verbose = std::env::var("ASL_VERBOSE").is_ok();
    let filter = std::env::var("ASL_FILTER").ok();
    let mut by_feature: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut passed, mut total) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("cases.jsonl lines are JSON");
        let id = case["id"].as_str().unwrap_or_default().to_string();
        if filter.as_ref().is_some_and(|f| !id.contains(f.as_str())) {
            continue;
        }
        total += 1;
        let result = run_case(&case).await;
        let ok = result.is_ok();
        if ok {
            passed += 1;
        } else if verbose {
            eprintln!("FAIL {id}\n     {}", result.unwrap_err());
        }
        for f in case["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let e = by_feature.entry(f.to_string()).or_default();
            e.1 += 1;
            if ok {
                e.0 += 1;
            }
        }
    }
    for (f, (p, t)) in &by_feature {
        println!("  {f:<24} {p:>4}/{t:<4}");
    }
    println!("asl conformance: {passed}/{total} passed");
    if filter.is_none() {
        assert!(
            passed >= PASS_FLOOR,
            "asl conformance regressed: {passed} < floor {PASS_FLOOR}"
        );
    }
}
