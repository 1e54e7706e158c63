//! A throwaway `redis-server` from the installed binary, on a free port, killed on drop.

#![allow(dead_code)]

pub mod admit;
pub mod replica_toml;
pub mod silent;

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

    /// Redis's count of calls of `command` (`INFO commandstats`) via `redis-cli`; `None`
    /// when `redis-cli` cannot run.
    pub fn calls(&self, command: &str) -> Option<u64> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "INFO", "commandstats"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let prefix = format!("cmdstat_{command}:calls=");
        Some(
            text.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        )
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
    spawn_with(port, &[])
}

fn spawn_with(port: u16, extra: &[&str]) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(extra)
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

/// A throwaway Redis Cluster of three masters (no replicas), each a `redis-server` on a free
/// port with its cluster bus on port + 10000; killed on drop.
pub struct RedisCluster {
    nodes: Vec<Child>,
    pub ports: Vec<u16>,
    config_files: Vec<std::path::PathBuf>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers, assigns the slots with
    /// `redis-cli --cluster create` and waits for `cluster_state:ok`; `None` (after a loud
    /// message) without the binaries.
    pub fn start() -> Option<RedisCluster> {
        if !installed() {
            return None;
        }
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            ports: Vec::new(),
            config_files: Vec::new(),
        };
        let mut attempts = 0;
        while cluster.nodes.len() < 3 {
            attempts += 1;
            assert!(attempts < 60, "no free port pairs for a cluster node");
            let Some(port) = free_port_with_bus() else {
                continue;
            };
            let file = std::env::temp_dir().join(format!(
                "portico-cluster-{}-{port}.conf",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&file);
            let file_text = file.display().to_string();
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &file_text,
            ];
            if let Some(child) = spawn_with(port, &args) {
                cluster.nodes.push(child);
                cluster.ports.push(port);
                cluster.config_files.push(file);
            }
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        // Gossip takes a moment to agree: poll every node until it reports the cluster ok.
        for port in cluster.ports.clone() {
            let mut ok = false;
            for _ in 0..200 {
                let out = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "CLUSTER", "INFO"])
                    .output()
                    .expect("redis-cli runs");
                if String::from_utf8_lossy(&out.stdout).contains("cluster_state:ok") {
                    ok = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            assert!(ok, "cluster node {port} never reported cluster_state:ok");
        }
        Some(cluster)
    }

    /// `redis://127.0.0.1:<port of the first node>`: one seed; the others are discovered.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.ports[0])
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for file in &self.config_files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A free port whose cluster bus port (port + 10000) is free too.
fn free_port_with_bus() -> Option<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let port = listener.local_addr().ok()?.port();
    let bus = port.checked_add(10_000)?;
    TcpListener::bind(("127.0.0.1", bus)).ok()?;
    Some(port)
}
