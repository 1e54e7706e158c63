//! The asynchronous-invoke queue on the embedded store: events accepted (202) but not yet run
//! when the process is killed with SIGKILL run after a restart on the same data directory.

mod store;

use std::collections::HashSet;
use std::io::BufRead;

use store::{Portico, TempDir};

const STUCK: &str = r#"
[logs]
stdout = false
access_log = false

[store]
path = "data"

# No instance may run: accepted events wait in the queue, backing off.
[functions.echo]
reserved_concurrency = 0
"#;

const RUNNING: &str = r#"
[logs]
access_log = false

[store]
path = "data"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pending_at_a_sigkill_run_after_the_restart() {
    let dir = TempDir::new("store-events");
    let config = dir.write("gateway.toml", STUCK);
    let portico = Portico::start(&config);
    let mut accepted = HashSet::new();
    for n in 0..5 {
        let (status, id) = portico
            .invoke_event("echo", &format!("{{\"n\": {n}}}"))
            .await
            .unwrap();
        assert_eq!(status, 202);
        assert!(!id.is_empty());
        accepted.insert(id);
    }
    portico.kill();
    assert_run_after_restart(&dir, accepted).await;
}

/// Restarts on `dir` with functions that can run and waits for every `accepted` event's REPORT.
async fn assert_run_after_restart(dir: &TempDir, accepted: HashSet<String>) {
    let config = dir.write("gateway.toml", RUNNING);
    let (portico, stdout) = Portico::start_with_stdout(&config);
    // Function logs end each invocation with `REPORT RequestId: <id>`.
    let mut pending = accepted.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = stdout.lines();
        while !pending.is_empty() {
            let line = lines.next().expect("portico stopped logging").unwrap();
            if let Some(rest) = line.split("REPORT RequestId: ").nth(1) {
                let id = rest.split_whitespace().next().unwrap_or_default();
                pending.remove(id);
            }
        }
    });
    // A guard against a hang if the events were lost, not a timing assumption.
    let ran = tokio::time::timeout(std::time::Duration::from_secs(60), reader).await;
    portico.kill();
    assert!(
        matches!(ran, Ok(Ok(()))),
        "the events accepted before the kill did not run after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_function_started_by_a_reload_survive_a_sigkill() {
    let dir = TempDir::new("store-events-reload");
    let config = dir.write("gateway.toml", RUNNING);
    let portico = Portico::start(&config);
    let invoke = "/2015-03-31/functions/echo/invocations";
    let (status, _) = portico.send("POST", invoke, &[], "{}").await.unwrap();
    assert_eq!(status, 200, "echo runs before the reload");
    // The changed file declares a new `echo` that may not run; SIGHUP reloads it.
    dir.write("gateway.toml", STUCK);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &portico.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    // The reload happens in the other process; poll (bounded) until it has taken effect.
    let mut reloaded = false;
    for _ in 0..250 {
        let (status, _) = portico.send("POST", invoke, &[], "{}").await.unwrap();
        if status == 429 {
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reloaded, "SIGHUP did not reload the config");
    let mut accepted = HashSet::new();
    for n in 0..3 {
        let (status, id) = portico
            .invoke_event("echo", &format!("{{\"n\": {n}}}"))
            .await
            .unwrap();
        assert_eq!(status, 202);
        accepted.insert(id);
    }
    portico.kill();
    assert_run_after_restart(&dir, accepted).await;
}
