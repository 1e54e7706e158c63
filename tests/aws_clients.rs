//! boto3 and the AWS CLI against a stack on a real socket: Lambda Invoke and Step Functions.
//! Skips, saying so loudly, only when python3 with boto3 is not installed (`.ci/run`
//! installs it).

mod common;

use common::{default_gateway_toml, quiet, shipped_registry, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_the_aws_cli_work_unchanged() {
    let has_boto3 = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_boto3 {
        eprintln!(
            "SKIPPED aws_clients: python3 with boto3 is not installed (pip install boto3 awscli)"
        );
        return;
    }
    let stack = TestStack::start(&quiet(&default_gateway_toml()), &shipped_registry()).await;
    let url = format!("http://{}", stack.addr);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/aws_sdk_clients.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&url)
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
