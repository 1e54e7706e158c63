//! Runs the real `portico` binary on a data directory and talks to it over HTTP: shared by
//! the store tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_portico");

/// A fresh directory under the OS temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("portico-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `portico serve`.
pub struct Portico {
    pub child: Child,
    pub base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Portico {
    /// Starts `portico serve --config <config>` on a free port and waits until it listens.
    pub fn start(config: &Path) -> Portico {
        Self::spawn(config, Stdio::null())
    }

    /// Like [`Portico::start`], handing back the process's stdout (function logs).
    pub fn start_with_stdout(config: &Path) -> (Portico, BufReader<ChildStdout>) {
        let mut portico = Self::spawn(config, Stdio::piped());
        let stdout = BufReader::new(portico.child.stdout.take().unwrap());
        (portico, stdout)
    }

    fn spawn(config: &Path, stdout: Stdio) -> Portico {
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .env("PORTICO_LISTEN", "127.0.0.1:0")
            .env_remove("PORTICO_ADMIN_LISTEN")
            .stdout(stdout)
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
        // Keep draining so a full pipe never blocks the server's logging.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Portico {
            child,
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one request; `Err` when the connection failed (e.g. the process was killed).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, Value), String> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Lambda `Invoke` with `InvocationType: Event`: the status and the request id.
    pub async fn invoke_event(&self, function: &str, body: &str) -> Result<(u16, String), String> {
        let req = http::Request::builder()
            .method("POST")
            .uri(format!(
                "{}/2015-03-31/functions/{function}/invocations",
                self.base
            ))
            .header("x-amz-invocation-type", "Event")
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let id = resp
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((resp.status().as_u16(), id))
    }

    /// A Step Functions API call.
    pub async fn sfn(&self, op: &str, body: Value) -> Result<(u16, Value), String> {
        let target = format!("AWSStepFunctions.{op}");
        self.send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", &target),
            ],
            &body.to_string(),
        )
        .await
    }

    /// SIGKILL, and reap the process.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Portico {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
