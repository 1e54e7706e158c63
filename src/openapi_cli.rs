//! `portico openapi import FILE [--api NAME] [--config PATH]` prints the gateway.toml API
//! section equivalent to an OpenAPI 3 file; `portico openapi export API [--stage NAME]
//! [--config PATH]` prints a configured API as OpenAPI 3 with API Gateway's extensions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use portico_runtime::{Config, Registry};

/// A parsed `portico openapi ...` command line.
#[derive(Debug, PartialEq)]
pub enum OpenApiArgs {
    /// Import a file.
    Import {
        file: PathBuf,
        api: Option<String>,
        config: PathBuf,
    },
    /// Export an API.
    Export {
        api: String,
        stage: Option<String>,
        config: PathBuf,
    },
}

/// Parses the arguments after `openapi`.
pub fn parse(rest: &[String]) -> Result<OpenApiArgs, String> {
    let usage = "usage: portico openapi import FILE [--api NAME] [--config PATH] | portico openapi export API [--stage NAME] [--config PATH]";
    let (verb, rest) = rest.split_first().ok_or(usage)?;
    let (subject, flags) = rest.split_first().ok_or(usage)?;
    let mut config = PathBuf::from("gateway.toml");
    let mut api = None;
    let mut stage = None;
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?.clone();
        match flag.as_str() {
            "--config" => config = value.into(),
            "--api" if verb == "import" => api = Some(value),
            "--stage" if verb == "export" => stage = Some(value),
            other => return Err(format!("unknown argument `{other}`\n{usage}")),
        }
    }
    match verb.as_str() {
        "import" => Ok(OpenApiArgs::Import {
            file: subject.into(),
            api,
            config,
        }),
        "export" => Ok(OpenApiArgs::Export {
            api: subject.clone(),
            stage,
            config,
        }),
        _ => Err(usage.into()),
    }
}

/// Runs the command.
pub fn run(args: OpenApiArgs, registry: &Registry) -> ExitCode {
    match args {
        OpenApiArgs::Import { file, api, config } => import(&file, api, &config, registry),
        OpenApiArgs::Export { api, stage, config } => export(&api, stage, &config, registry),
    }
}

fn import(file: &Path, api: Option<String>, config: &Path, registry: &Registry) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: cannot read the file: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    // Functions declared in the config count as known, as well as registered handlers.
    let declared: Vec<String> = std::fs::read_to_string(config)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("functions")?
                .as_table()
                .map(|f| f.keys().cloned().collect())
        })
        .unwrap_or_default();
    let exists = |f: &str| registry.contains(f) || declared.iter().any(|d| d == f);
    let shown = file.display().to_string();
    match portico_runtime::openapi::import(&text, &shown, &exists) {
        Ok(imported) => {
            let name = api.unwrap_or_else(|| default_name(&text));
            print!("{}", imported.to_toml(&name));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
    }
}

/// The API's name from `info.title`, made a config key: `Pet Store` → `pet_store`.
fn default_name(text: &str) -> String {
    let title = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|d| d.pointer("/info/title")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let name: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_matches('_').to_owned();
    if name.is_empty() {
        "imported".into()
    } else {
        name
    }
}

fn export(api: &str, stage: Option<String>, config: &Path, registry: &Registry) -> ExitCode {
    let config = match Config::load(config, registry) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let Some(found) = config.apis.iter().find(|a| a.name == api) else {
        let names: Vec<&str> = config.apis.iter().map(|a| a.name.as_str()).collect();
        eprintln!("no API `{api}` in the config; it has: {}", names.join(", "));
        return ExitCode::from(2);
    };
    let stage = match stage {
        Some(stage) if found.stages.iter().any(|s| s.name == stage) => stage,
        Some(stage) => {
            eprintln!("API `{api}` has no stage `{stage}`");
            return ExitCode::from(2);
        }
        None => found
            .stages
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
    };
    let document = portico_runtime::openapi::export(&found.openapi, &stage);
    match serde_json::to_string_pretty(&document) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot print the export: {e}");
            ExitCode::from(1)
        }
    }
}
