//! boto3's API Gateway client (create_api_key, get_usage_plans, create_usage_plan_key,
//! get_usage, get_api_key(s), update_api_key, error types) against a stack on port 0.
//! Skips loudly when boto3 is not installed (CI installs it).

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;

const TOML: &str = r#"
[apis.shop]
type = "rest"
[apis.shop.stages.prod]

[[apis.shop.routes]]
route = "GET /pets"
function = "echo"
api_key_required = true

[[usage_plans]]
id = "basic"
stages = [{ api = "shop", stage = "prod" }]
throttle = { rate_limit = 50, burst_limit = 100 }
quota = { limit = 5, period = "DAY" }
"#;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/clients/apigateway_boto3.py"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_manages_keys_and_reads_usage() {
    let has_boto3 = tokio::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !has_boto3 {
        eprintln!("\n*** SKIPPED: boto3 not installed (python3 -m pip install boto3) ***\n");
        return;
    }
    // 2024-05-15T12:00:00Z
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400));
    let stack = TestStack::start_with_clock(&quiet(TOML), &shipped_registry(), clock).await;
    let out = tokio::process::Command::new("python3")
        .args([SCRIPT, &stack.url(""), "2024-05-15"])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "boto3 script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("boto3 apigateway: ok"), "{stdout}");
}
