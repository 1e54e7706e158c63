//! ValidateStateMachineDefinition against the responses AWS returned for the same requests
//! (`../shared/conformance/asl/validate_cases.jsonl`).

use portico_runtime::workflow::validate::validate_definition_for;
use serde_json::Value;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/asl/validate_cases.jsonl"
);

#[test]
fn validate_matches_aws() {
    let Ok(text) = std::fs::read_to_string(CASES) else {
        eprintln!("!!!!! SKIPPING validate_matches_aws: {CASES} is absent !!!!!");
        return;
    };
    let mut failures = Vec::new();
    let mut total = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("validate_cases.jsonl lines are JSON");
        total += 1;
        let req = &case["request"];
        let express = req["type"] == "EXPRESS";
        let got = validate_definition_for(req["definition"].as_str().unwrap_or_default(), express);
        let got = serde_json::to_value(&got).expect("serializable");
        let want = &case["expected_response"];
        if got["result"] != want["result"] || got["diagnostics"] != want["diagnostics"] {
            failures.push(format!(
                "{}\n  got  {}\n  want {}",
                case["nodeid"], got, want["diagnostics"]
            ));
        }
    }
    println!("asl validate: {}/{total} passed", total - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
