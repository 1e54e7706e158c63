//! The function runtime's own costs, in one run:
//! 1. warm Invoke overhead: `Function::invoke` (concurrency slot, pool, context, timeout,
//!    log capture, REPORT record) vs calling the same handler directly — µs and ratio;
//! 2. cold-start accuracy: `cold_start = "100ms"`, forced cold invocations, p50/p99 error;
//! 3. an external `lambda_runtime` binary (tests/lambda-fixtures, release build) through the
//!    gateway vs the same handler in-process, loaded by wrk.
//!
//! Run: `cargo bench --bench function_runtime` (part 3 needs wrk; BENCH_SECONDS sets length).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::Instant;

use portico_runtime::invoke::{Invocation, Payload};
use portico_runtime::{Config, LambdaEvent, Registry, Stack};
use serde_json::{json, Value};

/// The same logic as tests/lambda-fixtures/src/bin/echo-runtime.rs, in-process.
async fn echo(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let (payload, ctx) = event.into_parts();
    Ok(json!({
        "echo": payload,
        "request_id": ctx.request_id,
        "function": ctx.env_config.function_name,
        "memory": ctx.env_config.memory,
        "version": ctx.env_config.version,
    }))
}

fn main() {
    let iterations: u32 = std::env::var("ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    warm_overhead(iterations);
    cold_start_accuracy(30);
    if std::env::var("BENCH_SKIP_EXTERNAL").is_err() {
        external_throughput();
    }
}

fn warm_overhead(iterations: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut registry = Registry::new();
    registry.register_fn("echo", echo);
    let config = Config::from_toml("[logs]\nstdout = false\n", "bench.toml", &registry).unwrap();
    runtime.block_on(async {
        let stack = Stack::builder(config, &registry).build();
        let function = stack.function("echo").unwrap();
        let event = || json!({"n": 1});
        for _ in 0..10_000 {
            let _ = function.invoke(Invocation::new(Payload::Json(event()))).await;
        }
        let started = Instant::now();
        for _ in 0..iterations {
            let out = function.invoke(Invocation::new(Payload::Json(event()))).await;
            assert!(out.result.is_ok());
        }
        let invoke_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
        let started = Instant::now();
        for _ in 0..iterations {
            let ctx = lambda_runtime::Context::default();
            let out = echo(LambdaEvent::new(event(), ctx)).await;
            assert!(out.is_ok());
        }
        let direct_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
        println!(
            "warm invoke: {invoke_us:.2} µs per call vs {direct_us:.2} µs calling the handler directly: +{:.2} µs, ratio {:.2} ({iterations} calls, one thread)",
            invoke_us - direct_us,
            invoke_us / direct_us
        );
    });
}

fn cold_start_accuracy(samples: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut registry = Registry::new();
    registry.register_fn("echo", echo);
    let toml =
        "[logs]\nstdout = false\n[functions.cold]\nhandler = \"echo\"\ncold_start = \"100ms\"\n";
    let config = Config::from_toml(toml, "bench.toml", &registry).unwrap();
    runtime.block_on(async {
        let stack = Stack::builder(config, &registry).build();
        let function = stack.function("cold").unwrap();
        let mut errors_ms = Vec::with_capacity(samples);
        for _ in 0..samples {
            let mut invocation = Invocation::new(Payload::Json(json!({})));
            invocation.force_cold_start = true;
            let started = Instant::now();
            let out = function.invoke(invocation).await;
            assert!(out.result.is_ok());
            errors_ms.push(started.elapsed().as_secs_f64() * 1000.0 - 100.0);
        }
        errors_ms.sort_by(f64::total_cmp);
        let p50 = errors_ms[samples / 2];
        let p99 = errors_ms[(samples * 99 / 100).min(samples - 1)];
        println!(
            "cold start: configured 100 ms, measured 100 ms {p50:+.2} ms at p50, {p99:+.2} ms at p99 ({samples} forced cold starts)"
        );
    });
}

fn external_throughput() {
    support::require_wrk();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/lambda-fixtures");
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(root.join("tests/lambda-fixtures/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
    assert!(status.success(), "building tests/lambda-fixtures failed");
    let program = target.join("release/echo-runtime");
    let toml = format!(
        r#"
[logs]
stdout = false
access_log = true

[functions.external]
command = ["{}"]

[apis.bench]
type = "http"
[[apis.bench.routes]]
route = "GET /external"
function = "external"
[[apis.bench.routes]]
route = "GET /inprocess"
function = "echo"
"#,
        program.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let mut registry = Registry::new();
        registry.register_fn("echo", echo);
        let config = Config::from_toml(&toml, "bench.toml", &registry).expect("bench config");
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
    let connections = 16;
    // Warm the external instances so the run measures warm throughput, not process starts.
    let _ = support::wrk(&format!("http://{addr}/external"), connections, &["-d1s"]);
    let inprocess = support::wrk(&format!("http://{addr}/inprocess"), connections, &[]);
    let external = support::wrk(&format!("http://{addr}/external"), connections, &[]);
    println!("external lambda_runtime binary vs the same handler in-process, through the gateway:");
    support::row(
        "portico -> echo (in-process)",
        connections,
        &inprocess,
        &inprocess,
    );
    support::row(
        "portico -> echo-runtime (Runtime API)",
        connections,
        &external,
        &inprocess,
    );
    drop(runtime);
}
