//! A throwaway `redis-server` from the installed binary, on a free port, killed on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A running (or stopped, between [`RedisServer::stop`] and [`RedisServer::restart`])
/// `redis-server` with no persistence.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

/// Whether `redis-server` is installed; says so loudly when it is not.
pub fn installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "SKIPPED: redis-server is not installed (apt-get install -y redis-server; .ci/run does it)"
        );
    }
    found
}

impl RedisServer {
    /// Starts a server on a free port; `None` (after a loud message) without the binary.
    pub fn start() -> Option<RedisServer> {
        if !installed() {
            return None;
        }
        // `--port 0` is not supported: take a free port from the OS and retry on a race.
        for _ in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            if let Some(child) = spawn(port) {
                return Some(RedisServer {
                    child: Some(child),
                    port,
                });
            }
        }
        panic!("redis-server did not start on any of 20 free ports");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh server on the same port.
    pub fn restart(&mut self) {
        self.stop();
        for _ in 0..50 {
            if let Some(child) = spawn(self.port) {
                self.child = Some(child);
                return;
            }
        }
        panic!("redis-server did not restart on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `redis-server` on `port` and waits for its "Ready to accept connections" line;
/// `None` when it exits first (e.g. the port was taken meanwhile).
fn spawn(port: u16) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .args(["--dir", &std::env::temp_dir().display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let mut out = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    Some(child)
}
