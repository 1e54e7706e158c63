//! `portico openapi import` and `portico openapi export` as a user runs them: import the
//! AWS-style fixture to gateway.toml, validate that config, export the API, and import the
//! export again to the same section. Bad input exits 2 with the problem on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_portico");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openapi/petstore.json"
);

/// A fresh directory with a gateway.toml declaring the fixture's authorizer function.
fn workdir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("portico-openapi-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("gateway.toml"),
        "[functions.token_auth]\nhandler = \"echo\"\n",
    )
    .expect("write");
    dir
}

fn portico(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run portico")
}

fn stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn import_then_export_then_import_again_round_trips() {
    let dir = workdir("round-trip");
    let section = stdout(&portico(
        &dir,
        &["openapi", "import", FIXTURE, "--api", "petstore"],
    ));
    let parsed: toml::Table = section.parse().expect("the import is TOML");
    let routes = parsed["apis"]["petstore"]["routes"]
        .as_array()
        .expect("routes");
    assert_eq!(routes.len(), 4);

    // The printed section is a working config once the stage variable it uses is set.
    let config = format!(
        "[functions.token_auth]\nhandler = \"echo\"\n\n{section}\n[apis.petstore.stages.prod.variables]\nupstream = \"127.0.0.1:9\"\n"
    );
    std::fs::write(dir.join("gateway.toml"), config).expect("write");
    let validated = stdout(&portico(&dir, &["validate", "gateway.toml"]));
    assert!(validated.ends_with("ok\n"), "{validated}");

    let export = stdout(&portico(
        &dir,
        &["openapi", "export", "petstore", "--stage", "prod"],
    ));
    let doc: serde_json::Value = serde_json::from_str(&export).expect("the export is JSON");
    assert_eq!(
        doc["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"]["type"],
        "mock"
    );
    std::fs::write(dir.join("export.json"), &export).expect("write");
    let again = stdout(&portico(
        &dir,
        &["openapi", "import", "export.json", "--api", "petstore"],
    ));
    assert_eq!(section, again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_and_says_why() {
    let dir = workdir("bad");
    let out = portico(&dir, &["openapi", "import", "missing.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json: cannot read the file"));

    std::fs::write(
        dir.join("unknown.json"),
        r#"{"openapi": "3.0.1", "paths": {"/orders": {"put": {"x-amazon-apigateway-integration": {"type": "aws_proxy",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations"}}}}}"#,
    )
    .expect("write");
    let out = portico(&dir, &["openapi", "import", "unknown.json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown.json: paths./orders.put: the integration names function `orders`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = portico(&dir, &["openapi", "export", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API `nothing`"));

    let out = portico(&dir, &["openapi", "export"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
