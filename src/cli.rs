//! Command-line parsing and the commands themselves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use portico_runtime::config::StoreKind;
use portico_runtime::StartError;
use portico_runtime::{Config, Registry, Stack};

pub const USAGE: &str = "usage:
  portico [serve] [--config PATH] [--listen ADDR]   run the stack (default gateway.toml, 127.0.0.1:3000;
                                                   PORTICO_LISTEN overrides the config's address)
  portico validate [PATH]                          check a config file; exit 2 listing every error
  portico workflow convert FILE                    print a TOML workflow as ASL JSON, or ASL JSON as TOML
  portico usage --endpoint URL --plan ID [--key ID] [--start YYYY-MM-DD] [--end YYYY-MM-DD]
                                                   a running server's usage plan usage, as a table
  portico logs GROUP [--follow] [--since 10m] [--filter TEXT] [--endpoint http://127.0.0.1:9090]
                                                   print (and follow) a log group via the admin API
  portico openapi import FILE [--api NAME] [--config PATH]
                                                   print the gateway.toml API section of an OpenAPI 3 JSON file
  portico openapi export API [--stage NAME] [--config PATH]
                                                   print a configured API as OpenAPI 3 with API Gateway's extensions
  portico deploy API [--stage STAGE] [--description TEXT] [--canary PERCENT] [--endpoint URL]
                                                   snapshot an API as a deployment; point the stage
                                                   (or, with --canary, its canary) at it
  portico rollback API --stage STAGE --to ID [--endpoint URL]
                                                   point a stage at an earlier deployment
  portico deployments API [--endpoint URL]         list deployments and the stages serving each
  portico canary API --stage STAGE --promote|--discard [--endpoint URL]
                                                   end a stage's canary, keeping or dropping it";

/// A parsed command line.
#[derive(Debug, PartialEq)]
pub enum Command {
    Serve {
        config: PathBuf,
        listen: Option<String>,
    },
    Validate {
        config: PathBuf,
    },
    ConvertWorkflow {
        file: PathBuf,
    },
    Usage(crate::usage::UsageArgs),
    Logs(crate::logs::LogsArgs),
    OpenApi(crate::openapi_cli::OpenApiArgs),
    Lifecycle(crate::deploy::LifecycleArgs),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let args: Vec<String> = args.collect();
    let (verb, rest) = match args.first().map(String::as_str) {
        None => ("serve", &args[..]),
        Some(flag) if flag.starts_with("--") => ("serve", &args[..]),
        Some(verb) => (verb, &args[1..]),
    };
    match verb {
        "serve" => {
            let mut config = PathBuf::from("gateway.toml");
            let mut listen = None;
            let mut it = rest.iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--config" => config = it.next().ok_or("--config needs a path")?.into(),
                    "--listen" => {
                        listen = Some(it.next().ok_or("--listen needs an address")?.clone())
                    }
                    other => return Err(format!("unknown argument `{other}`")),
                }
            }
            Ok(Command::Serve { config, listen })
        }
        "validate" => match rest {
            [] => Ok(Command::Validate {
                config: "gateway.toml".into(),
            }),
            [path] => Ok(Command::Validate {
                config: path.into(),
            }),
            _ => Err("validate takes one path".into()),
        },
        "workflow" => match rest {
            [sub, file] if sub == "convert" => Ok(Command::ConvertWorkflow { file: file.into() }),
            _ => Err("usage: portico workflow convert FILE".into()),
        },
        "usage" => crate::usage::parse(rest).map(Command::Usage),
        "logs" => crate::logs::parse(rest).map(Command::Logs),
        "openapi" => crate::openapi_cli::parse(rest).map(Command::OpenApi),
        "deploy" | "rollback" | "deployments" | "canary" => {
            crate::deploy::parse(verb, rest).map(Command::Lifecycle)
        }
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Runs a command to completion.
pub async fn run(command: Command, registry: &Registry) -> ExitCode {
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Validate { config } => match Config::load(&config, registry) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
        },
        Command::Serve { config, listen } => serve(config, listen, registry).await,
        Command::Usage(args) => crate::usage::run(args).await,
        Command::Logs(args) => crate::logs::run(args).await,
        Command::OpenApi(args) => crate::openapi_cli::run(args, registry),
        Command::Lifecycle(args) => crate::deploy::run(args).await,
        Command::ConvertWorkflow { file } => convert_workflow(&file),
    }
}

fn convert_workflow(file: &std::path::Path) -> ExitCode {
    use portico_runtime::workflow::convert;
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: cannot read the file: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let converted = if file.extension().is_some_and(|e| e == "toml") {
        convert::toml_to_asl_json(&text)
    } else {
        convert::asl_json_to_toml(&text)
    };
    match converted {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            ExitCode::from(2)
        }
    }
}

async fn serve(path: PathBuf, listen: Option<String>, registry: &Registry) -> ExitCode {
    let config = match Config::load(&path, registry) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let listen = listen.or_else(|| std::env::var("PORTICO_LISTEN").ok());
    let addr: SocketAddr = match listen {
        Some(text) => match text.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("`{text}` is not an address like 127.0.0.1:3000");
                return ExitCode::from(2);
            }
        },
        None => config.server.listen,
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let admin_addr = match std::env::var("PORTICO_ADMIN_LISTEN") {
        Ok(text) => match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                eprintln!("PORTICO_ADMIN_LISTEN=`{text}` is not an address like 127.0.0.1:9090");
                return ExitCode::from(2);
            }
        },
        Err(_) => config.server.admin_listen,
    };
    let stack = match Stack::builder(config, registry)
        .config_path(path.clone())
        .default_store(StoreKind::Embedded)
        .open()
        .await
    {
        Ok(stack) => stack,
        Err(StartError::Config(errors)) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    // Hot reload: a changed file (polled) or SIGHUP; both end with the process.
    tokio::spawn(portico_runtime::lifecycle::watch::watch_file(
        stack.clone(),
        path.clone(),
        portico_runtime::lifecycle::watch::POLL_INTERVAL,
    ));
    #[cfg(unix)]
    tokio::spawn(portico_runtime::lifecycle::watch::reload_on_sighup(
        stack.clone(),
    ));
    if let Some(addr) = admin_addr {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(admin) => {
                let shown = admin
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                tracing::info!("admin API (metrics, logs) on http://{shown}");
                // The admin listener lives as long as the process; only the gateway drains.
                let app = stack.admin_router();
                tokio::spawn(async move { axum::serve(admin, app).await });
            }
            Err(e) => {
                eprintln!("cannot listen on {addr} for the admin API: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let shutdown = shutdown_signal();
    let scheme = if portico_runtime::gateway::tls::acceptor(&stack.config()).is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(config = %path.display(), "portico listening on {scheme}://{local}");
    match portico_runtime::serve(stack, listener, shutdown).await {
        Ok(()) => {
            tracing::info!("portico stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal sent right after "listening" is never missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
                match stream {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let (term, int) = streams;
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested; draining in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> impl Iterator<Item = String> {
        a.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse(args(&[])).unwrap(),
            Command::Serve {
                config: "gateway.toml".into(),
                listen: None
            }
        );
        assert_eq!(
            parse(args(&["--listen", "127.0.0.1:0"])).unwrap(),
            Command::Serve {
                config: "gateway.toml".into(),
                listen: Some("127.0.0.1:0".into())
            }
        );
        assert_eq!(
            parse(args(&["validate", "x.toml"])).unwrap(),
            Command::Validate {
                config: "x.toml".into()
            }
        );
        assert_eq!(
            parse(args(&[
                "usage",
                "--endpoint",
                "http://h:1",
                "--plan",
                "p",
                "--key",
                "k"
            ]))
            .unwrap(),
            Command::Usage(crate::usage::UsageArgs {
                endpoint: "http://h:1".into(),
                plan: "p".into(),
                key: Some("k".into()),
                start: None,
                end: None,
            })
        );
        assert!(parse(args(&["usage", "--plan"])).is_err());
        assert!(parse(args(&["serve", "--bogus"])).is_err());
        assert!(parse(args(&["frobnicate"])).is_err());
    }
}
