//! An order-processing workflow behind an HTTP API: `cargo run --example orders`.
//!
//! POST /orders runs the EXPRESS workflow synchronously and answers with its output;
//! POST /orders/async starts the STANDARD one and answers with its execution ARN.

mod functions;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut registry = portico_runtime::Registry::new();
    functions::register(&mut registry, Arc::new(Mutex::new(HashMap::new())));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/gateway.toml");
    let config = match portico_runtime::Config::load(&path, &registry) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return std::process::ExitCode::from(2);
        }
    };
    let listen =
        std::env::var("PORTICO_LISTEN").unwrap_or_else(|_| config.server.listen.to_string());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let stack = portico_runtime::Stack::builder(config, &registry).build();
    tracing::info!(
        "orders example listening on http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match portico_runtime::serve(stack, listener, stop).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::from(1),
    }
}
