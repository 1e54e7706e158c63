//! The admin dashboard rendered by headless Chromium shows the traffic the test sent: its
//! inline script fetches `/dashboard/data` and draws the numbers, the chart and the log tail.
//! Skips (loudly) only when no `chromium` binary is installed.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{quiet, shipped_registry, TestStack};
use portico_runtime::Clock;

const TOML: &str = r#"
[apis.demo]
type = "http"
[[apis.demo.routes]]
route = "GET /hello"
function = "hello"
"#;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|bin| {
        std::process::Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

async fn render(bin: &str, url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("portico-chromium-{}", std::process::id()));
    let out = tokio::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .await
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_traffic_sent() {
    let Some(bin) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let stack = TestStack::start_with_clock(&quiet(TOML), &shipped_registry(), clock).await;
    for _ in 0..5 {
        assert_eq!(stack.get("/hello").await.status, 200);
    }
    assert_eq!(stack.get("/nowhere").await.status, 404);
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", admin.local_addr().unwrap());
    let app = stack.stack.admin_router();
    tokio::spawn(async move { axum::serve(admin, app).await });

    let dom = render(bin, &url).await;
    assert!(dom.contains(r#"<b id="requests">6</b>"#), "{dom}");
    assert!(dom.contains(r#"<b id="errors4">1</b>"#), "{dom}");
    assert!(dom.contains(r#"<b id="errors5">0</b>"#), "{dom}");
    // The chart's bar for the current minute carries the request count.
    assert!(
        dom.contains(r#"class="req" x="#) && dom.contains(r#"data-value="6""#),
        "{dom}"
    );
    // The function table and the route table.
    assert!(
        dom.contains(
            r#"<td class="name">hello</td><td class="invocations">5</td><td class="errors">0</td>"#
        ),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<td class="route">GET /hello</td><td class="count">5</td>"#),
        "{dom}"
    );
    // The live log tail shows the function's REPORT lines.
    assert!(
        dom.contains("/aws/lambda/hello  REPORT RequestId:"),
        "{dom}"
    );
}
