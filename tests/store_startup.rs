//! Starting on a store: `portico serve` defaults to the embedded store in `.portico/` next
//! to the config; a data directory that cannot be written or a corrupted store file stops
//! start-up with an error naming the path (never a fallback to memory); bad `[store]`
//! settings are config errors with file:line:col.

mod store;

use std::process::Command;

use store::{Portico, TempDir, BIN};

const ROUTE: &str = r#"
[logs]
stdout = false

[apis.site]
type = "http"
[[apis.site.routes]]
route = "GET /hello/{name}"
function = "hello"
"#;

/// Runs `portico serve` expecting it to refuse to start; returns its stderr.
fn refused(config: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    stderr
}

#[tokio::test]
async fn serve_keeps_state_in_dot_portico_beside_the_config_by_default() {
    let dir = TempDir::new("store-default");
    let config = dir.write("gateway.toml", ROUTE);
    let portico = Portico::start(&config);
    let (status, body) = portico.send("GET", "/hello/store", &[], "").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(dir.0.join(".portico/state.sqlite3").is_file());
    portico.kill();
}

#[test]
fn a_data_directory_that_cannot_be_created_stops_start_up() {
    let dir = TempDir::new("store-unwritable");
    dir.write("blocker", "a file where the data directory should go");
    let config = dir.write(
        "gateway.toml",
        &format!("{ROUTE}\n[store]\nkind = \"embedded\"\npath = \"blocker/data\"\n"),
    );
    let stderr = refused(&config);
    let data = dir.0.join("blocker/data").display().to_string();
    assert!(stderr.contains(&data), "{stderr}");
    assert!(
        stderr.contains("cannot create the data directory"),
        "{stderr}"
    );
}

#[test]
fn a_corrupted_store_file_stops_start_up_and_is_left_as_it_was() {
    let dir = TempDir::new("store-corrupt");
    std::fs::create_dir_all(dir.0.join("data")).unwrap();
    let garbage = vec![0x5a_u8; 8192];
    let file = dir.0.join("data/state.sqlite3");
    std::fs::write(&file, &garbage).unwrap();
    let config = dir.write(
        "gateway.toml",
        &format!("{ROUTE}\n[store]\npath = \"data\"\n"),
    );
    let stderr = refused(&config);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a database"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), garbage);
}

#[test]
fn bad_store_settings_are_config_errors_with_their_position() {
    let dir = TempDir::new("store-config");
    let config = dir.write(
        "gateway.toml",
        "[store]\nkind = \"floppy\"\non_unavailable = \"maybe\"\nurl = \"http://cache:6379\"\npath = \"\"\n",
    );
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = config.display().to_string();
    assert!(
        stderr.contains(&format!("{shown}:2:8:")) && stderr.contains("\"floppy\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:3:18:")) && stderr.contains("fail_closed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:4:7:")) && stderr.contains("redis://"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:5:8:")) && stderr.contains("must not be empty"),
        "{stderr}"
    );

    let redis = dir.write("redis.toml", "[store]\nkind = \"redis\"\n");
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&redis)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = redis.display().to_string();
    assert!(
        stderr.contains(&format!("{shown}:2:8:")) && stderr.contains("needs `url"),
        "{stderr}"
    );
}

#[test]
fn redis_settings_on_another_kind_are_refused_not_ignored() {
    let dir = TempDir::new("store-redis-settings");
    let config = dir.write(
        "gateway.toml",
        "[store]\nkind = \"embedded\"\nurl = \"redis://127.0.0.1:6379\"\non_unavailable = \"fail_open\"\n",
    );
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = config.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{shown}:3:7: `[store] url` only applies to `kind = \"redis\"`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{shown}:4:18: `[store] on_unavailable` only applies to `kind = \"redis\"`"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_stored_record_that_cannot_be_read_back_stops_start_up_naming_the_file() {
    use portico_runtime::store::{EmbeddedStore, Store};
    let dir = TempDir::new("store-bad-record");
    let data = dir.0.join("data");
    {
        let store = EmbeddedStore::open(&data, portico_runtime::Clock::system()).unwrap();
        store
            .put(
                "apikey/broken",
                bytes::Bytes::from_static(b"{not json"),
                None,
            )
            .await
            .unwrap();
    }
    let config = dir.write(
        "gateway.toml",
        &format!("{ROUTE}\n[store]\npath = \"data\"\n"),
    );
    let stderr = refused(&config);
    let file = data.join("state.sqlite3").display().to_string();
    assert!(stderr.contains(&file), "{stderr}");
    assert!(stderr.contains("apikey/broken"), "{stderr}");
}
