//! The `portico` binary: validate exits 2 listing every error; serve answers on the address it
//! logs, and SIGTERM drains and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_portico");

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_lists_every_error_and_exits_2() {
    let path = temp_file("bad", "[functions.nope]\n\n[apis.x]\ntype = \"soap\"\n");
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = path.display().to_string();
    assert!(stderr.contains(&format!("{shown}:1:1:")), "{stderr}");
    assert!(stderr.contains(&format!("{shown}:4:8:")), "{stderr}");
}

#[test]
fn validate_accepts_the_default_config() {
    let out = Command::new(BIN)
        .args(["validate", "gateway.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_file_and_bad_arguments_exit_2() {
    let out = Command::new(BIN)
        .args(["validate", "/nonexistent/gateway.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the file"));
    let out = Command::new(BIN)
        .args(["serve", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serve_logs_its_address_answers_and_stops_on_sigterm() {
    // The shipped config, served from a copy so its `.portico/` store lands in a temporary
    // directory rather than the repository.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.toml");
    let config = temp_file("serve", &std::fs::read_to_string(shipped).unwrap());
    let dir = config.parent().unwrap().to_owned();
    let mut child = Command::new(BIN)
        .args(["serve", "--config", "gateway.toml"])
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "portico exited before listening"
        );
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let mut socket = std::net::TcpStream::connect(&addr).unwrap();
    socket
        .write_all(b"GET /hello/cli HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    socket.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(r#"{"message":"Hello, cli!"}"#), "{reply}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(dir.join(".portico/state.sqlite3").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn workflow_convert_round_trips_toml_and_asl_json() {
    let out = Command::new(BIN)
        .args(["workflow", "convert", "examples/orders/order.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asl: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(asl["StartAt"], "Validate");
    assert_eq!(
        asl["States"]["Charge"]["Retry"][0]["ErrorEquals"][0],
        "PaymentGatewayBusy"
    );
    let json_path = temp_file("asl", "").with_file_name("order.asl.json");
    std::fs::write(&json_path, &out.stdout).unwrap();
    let back = Command::new(BIN)
        .args(["workflow", "convert"])
        .arg(&json_path)
        .output()
        .unwrap();
    assert_eq!(back.status.code(), Some(0));
    let toml_text = String::from_utf8_lossy(&back.stdout);
    assert!(toml_text.contains("start_at = \"Validate\""), "{toml_text}");
    let bad = temp_file("badasl", "").with_file_name("bad.json");
    std::fs::write(&bad, "{nope").unwrap();
    let out = Command::new(BIN)
        .args(["workflow", "convert"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
