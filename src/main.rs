//! `portico`: run the stack in gateway.toml, check a config file, or read usage plan usage.

mod cli;
mod deploy;
mod logs;
mod openapi_cli;
mod usage;

// mimalloc: the gateway allocates a few small objects per request, and glibc malloc costs a
// third of the in-process pipeline time (benches/pipeline.rs: 11.6 µs → 7.2 µs per request).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let mut registry = portico_runtime::Registry::new();
    portico_functions::register_all(&mut registry);
    cli::run(command, &registry).await
}
