//! Portico as an HTTP proxy vs nginx as a reverse proxy, in front of the same upstream (the
//! bare hyper server), loaded by wrk in one run. Prints requests/s, p50/p99 and the ratio.
//! Run: `cargo bench --bench http_proxy` (needs `wrk` and nginx: `apt-get install wrk
//! nginx-light`; BENCH_SECONDS sets the length). Both proxies keep upstream connections alive
//! and write no access log; nginx runs `worker_processes auto`, Portico its default runtime.

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use portico_runtime::{Config, Registry, Stack};

const BODY: &[u8] = br#"{"message":"Hello, bench!"}"#;

fn portico_toml(upstream: SocketAddr) -> String {
    format!(
        r#"
[logs]
stdout = false
access_log = false

# Lift the account throttle (AWS's default: 10,000 rps) so the bench measures the gateway.
[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[apis.bench]
type = "http"
[apis.bench.stages."$default".variables]
backend = "{upstream}"
[[apis.bench.routes]]
route = "GET /items/{{id}}"
http = "http://${{stageVariables.backend}}/items/{{id}}"
"#
    )
}

fn nginx_conf(dir: &std::path::Path, listen: u16, upstream: SocketAddr) -> String {
    // As root, nginx would otherwise drop its workers to `nobody`, who cannot write `dir`.
    let user = if is_root() { "user root root;" } else { "" };
    format!(
        r#"{user}
worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream backend {{ server {upstream}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#,
        dir = dir.display()
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

fn start_nginx(upstream: SocketAddr) -> Option<(Child, u16, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("portico-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&dir, port, upstream)).ok()?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    // Wait until it accepts connections.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port, dir));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

fn main() {
    support::require_wrk();
    // The upstream gets its own runtime thread so it does not compete with Portico's workers.
    let upstream_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let upstream = upstream_rt.block_on(support::bare_hyper(BODY));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let portico_addr = runtime.block_on(async {
        let registry = Registry::new();
        let config =
            Config::from_toml(&portico_toml(upstream), "bench.toml", &registry).expect("config");
        let stack = Stack::builder(config, &registry).build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(portico_runtime::serve(
            stack,
            listener,
            std::future::pending(),
        ));
        addr
    });
    let Some((mut nginx, nginx_port, dir)) = start_nginx(upstream) else {
        eprintln!("this benchmark needs nginx: apt-get install nginx-light");
        std::process::exit(2);
    };
    for url in [
        format!("http://{portico_addr}/items/7"),
        format!("http://127.0.0.1:{nginx_port}/items/7"),
    ] {
        let out = Command::new("curl").args(["-s", &url]).output();
        if let Ok(out) = out {
            assert_eq!(out.stdout, BODY, "{url} must answer the upstream's body");
        }
    }
    println!(
        "http proxy benchmark: {} s per run, wrk -t2",
        support::seconds()
    );
    for connections in [16, 64] {
        let base = support::wrk(&format!("http://{upstream}/items/7"), connections, &[]);
        let nginx_m = support::wrk(
            &format!("http://127.0.0.1:{nginx_port}/items/7"),
            connections,
            &[],
        );
        let portico = support::wrk(&format!("http://{portico_addr}/items/7"), connections, &[]);
        support::row("bare hyper upstream (direct)", connections, &base, &base);
        support::row("nginx -> upstream", connections, &nginx_m, &nginx_m);
        support::row("portico http -> upstream", connections, &portico, &nginx_m);
    }
    // TERM (not KILL) so the master stops its workers too.
    let _ = Command::new("kill")
        .args(["-TERM", &nginx.id().to_string()])
        .status();
    let _ = nginx.wait();
    let _ = std::fs::remove_dir_all(dir);
    drop(runtime);
    drop(upstream_rt);
}
