//! `portico usage` against a stack on port 0: the usage table, and clear failures for an
//! unknown plan, bad dates, an unreachable server and bad arguments.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;

const BIN: &str = env!("CARGO_BIN_EXE_portico");

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
quota = { limit = 100, period = "MONTH" }

[[api_keys]]
name = "alice"
value = "alice-key-0123456789abcdef"
usage_plans = ["basic"]
"#;

async fn usage(args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("usage")
        .args(args)
        .output()
        .await
        .expect("portico runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_prints_a_table_per_key_and_day() {
    // 2024-05-15T12:00:00Z
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_715_774_400));
    let stack = TestStack::start_with_clock(&quiet(TOML), &shipped_registry(), clock.clone()).await;
    let alice = [("x-api-key", "alice-key-0123456789abcdef")];
    for _ in 0..3 {
        assert_eq!(
            stack.request("GET", "/prod/pets", &alice, "").await.status,
            200
        );
    }
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        stack.request("GET", "/prod/pets", &alice, "").await.status,
        200
    );
    let key_id = stack.stack.traffic().control().keys().list()[0]
        .id
        .to_string();
    let endpoint = stack.url("");
    let (code, stdout, stderr) = usage(&[
        "--endpoint",
        &endpoint,
        "--plan",
        "basic",
        "--start",
        "2024-05-14",
        "--end",
        "2024-05-16",
    ])
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let expected = format!(
        "usage plan basic, 2024-05-14 to 2024-05-16\n\
         KEY          DATE             USED  REMAINING\n\
         {key_id:<12} 2024-05-14          0        100\n\
         {key_id:<12} 2024-05-15          3         97\n\
         {key_id:<12} 2024-05-16          1         96\n"
    );
    assert_eq!(stdout, expected);
    let (code, stdout, _) = usage(&[
        "--endpoint",
        &endpoint,
        "--plan",
        "basic",
        "--key",
        &key_id,
        "--start",
        "2024-05-15",
        "--end",
        "2024-05-15",
    ])
    .await;
    assert_eq!(code, Some(0));
    assert!(
        stdout.ends_with(&format!("{key_id:<12} 2024-05-15          3         97\n")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_fails_clearly() {
    let stack = TestStack::start(&quiet(TOML), &shipped_registry()).await;
    let endpoint = stack.url("");
    let (code, _, stderr) = usage(&["--endpoint", &endpoint, "--plan", "gold"]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("NotFoundException: Invalid Usage Plan identifier specified"),
        "{stderr}"
    );
    let (code, _, stderr) = usage(&[
        "--endpoint",
        &endpoint,
        "--plan",
        "basic",
        "--start",
        "May 1",
    ])
    .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("BadRequestException: Invalid startDate `May 1`"),
        "{stderr}"
    );
    let (code, _, stderr) = usage(&["--endpoint", "http://127.0.0.1:1", "--plan", "basic"]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot reach http://127.0.0.1:1"),
        "{stderr}"
    );
    let (code, _, stderr) = usage(&["--plan", "basic"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("usage needs --endpoint URL"), "{stderr}");
}
