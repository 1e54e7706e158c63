//! `portico logs` against a stack's admin API on port 0: a group's lines with `--filter` and
//! `--since`, `--follow` printing new lines as they come, and clear failures for an unknown
//! group, a bad `--since`, an unreachable server and a missing group argument.

mod common;

use std::process::Stdio;
use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_portico");

const TOML: &str = r#"
[apis.demo]
type = "http"
[[apis.demo.routes]]
route = "GET /hello"
function = "hello"
"#;

async fn start() -> (TestStack, String, Clock) {
    // 2023-11-14T22:13:20Z
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::start_with_clock(&quiet(TOML), &shipped_registry(), clock.clone()).await;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", admin.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin, app).await });
    (stack, url, clock)
}

async fn logs(args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("logs")
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
async fn prints_filters_and_reads_since() {
    let (stack, url, clock) = start().await;
    assert_eq!(stack.get("/hello").await.status, 200);
    clock.advance(Duration::from_secs(300));
    assert_eq!(stack.get("/hello").await.status, 200);

    let (code, out, err) = logs(&["/aws/lambda/hello", "--endpoint", &url]).await;
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        8,
        "START, a handler line, END and REPORT twice: {out}"
    );
    assert!(
        lines[0].starts_with("2023-11-14T22:13:20.000000+00:00 2023/11/14/[$LATEST]")
            && lines[0].contains(" START RequestId: "),
        "{out}"
    );
    assert!(
        lines[4].starts_with("2023-11-14T22:18:20.000000+00:00 "),
        "{out}"
    );

    let (_, out, _) = logs(&[
        "/aws/lambda/hello",
        "--endpoint",
        &url,
        "--filter",
        "REPORT",
    ])
    .await;
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().all(|l| l.contains("REPORT RequestId:")),
        "{out}"
    );

    let (_, out, _) = logs(&["/aws/lambda/hello", "--endpoint", &url, "--since", "2m"]).await;
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        out.lines().all(|l| l.starts_with("2023-11-14T22:18:20")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_new_lines_as_they_come() {
    let (stack, url, _clock) = start().await;
    assert_eq!(stack.get("/hello").await.status, 200);
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "logs",
            "/aws/lambda/hello",
            "--follow",
            "--filter",
            "REPORT",
        ])
        .args(["--endpoint", &url])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.contains("REPORT RequestId:"), "{first}");
    let second_id = stack.get("/hello").await;
    assert_eq!(second_id.status, 200);
    let second = lines.next_line().await.unwrap().unwrap();
    assert!(second.contains("REPORT RequestId:"), "{second}");
    assert_ne!(first, second, "each line once");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_clear() {
    let (_stack, url, _clock) = start().await;
    let (code, _, err) = logs(&["/aws/lambda/nope", "--endpoint", &url]).await;
    assert_eq!(code, Some(1));
    assert!(
        err.contains("404") && err.contains("log group does not exist: /aws/lambda/nope"),
        "{err}"
    );

    let (code, _, err) = logs(&["/aws/lambda/hello", "--since", "soon"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("--since"), "{err}");

    let (code, _, err) = logs(&["/x", "--endpoint", "http://127.0.0.1:1"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");

    let (code, _, err) = logs(&[]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("needs a log group"), "{err}");
}
