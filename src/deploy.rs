//! `portico deploy`, `rollback`, `deployments` and `canary`: a running server's deployment
//! history, through its admin listener's API Gateway-shaped endpoints
//! (`/restapis/{api}/deployments`, `/restapis/{api}/stages/{stage}`).

use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// A lifecycle command.
#[derive(Debug, PartialEq)]
pub enum LifecycleArgs {
    /// Snapshot the API, optionally pointing a stage (or its canary) at it.
    Deploy {
        api: String,
        stage: Option<String>,
        description: String,
        canary: Option<f64>,
        endpoint: String,
    },
    /// Point a stage at an earlier deployment.
    Rollback {
        api: String,
        stage: String,
        to: String,
        endpoint: String,
    },
    /// List the API's deployments.
    List { api: String, endpoint: String },
    /// Promote or discard a stage's canary.
    Canary {
        api: String,
        stage: String,
        promote: bool,
        endpoint: String,
    },
}

/// Parses the arguments after `deploy`, `rollback`, `deployments` or `canary`.
pub fn parse(verb: &str, args: &[String]) -> Result<LifecycleArgs, String> {
    let mut api = None;
    let (mut stage, mut to, mut canary, mut action) = (None, None, None, None);
    let mut description = String::new();
    let mut endpoint = crate::logs::DEFAULT_ENDPOINT.to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--stage" => stage = Some(value()?),
            "--description" => description = value()?,
            "--to" => to = Some(value()?),
            "--endpoint" => endpoint = value()?,
            "--canary" => {
                let text = value()?;
                let percent = text
                    .parse::<f64>()
                    .map_err(|_| format!("--canary `{text}` is not a percentage"))?;
                portico_runtime::config::check_canary_percent(percent)?;
                canary = Some(percent);
            }
            "--promote" | "--discard" => action = Some(arg == "--promote"),
            other if other.starts_with('-') => return Err(format!("unknown argument `{other}`")),
            name if api.is_none() => api = Some(name.to_owned()),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let api = api.ok_or(format!("usage: portico {verb} API ..."))?;
    let need_stage = || stage.clone().ok_or(format!("{verb} needs --stage STAGE"));
    match verb {
        "deploy" => {
            if canary.is_some() && stage.is_none() {
                return Err("--canary needs --stage".into());
            }
            Ok(LifecycleArgs::Deploy {
                api,
                stage,
                description,
                canary,
                endpoint,
            })
        }
        "rollback" => Ok(LifecycleArgs::Rollback {
            stage: need_stage()?,
            to: to.ok_or("rollback needs --to DEPLOYMENT_ID")?,
            api,
            endpoint,
        }),
        "deployments" => Ok(LifecycleArgs::List { api, endpoint }),
        _ => Ok(LifecycleArgs::Canary {
            stage: need_stage()?,
            promote: action.ok_or("canary needs --promote or --discard")?,
            api,
            endpoint,
        }),
    }
}

/// Runs a lifecycle command against the admin listener.
pub async fn run(args: LifecycleArgs) -> ExitCode {
    match execute(args).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

async fn execute(args: LifecycleArgs) -> Result<String, String> {
    match args {
        LifecycleArgs::Deploy {
            api,
            stage,
            description,
            canary,
            endpoint,
        } => {
            let mut body = json!({ "description": description });
            if let Some(stage) = stage {
                body["stageName"] = json!(stage);
            }
            if let Some(percent) = canary {
                body["canarySettings"] = json!({ "percentTraffic": percent });
            }
            let path = format!("/restapis/{}/deployments", encode(&api));
            let created = call(&endpoint, http::Method::POST, &path, Some(body)).await?;
            Ok(format!(
                "deployment {}",
                created["id"].as_str().unwrap_or("?")
            ))
        }
        LifecycleArgs::Rollback {
            api,
            stage,
            to,
            endpoint,
        } => {
            let ops = json!([{ "op": "replace", "path": "/deploymentId", "value": to }]);
            patch_stage(&endpoint, &api, &stage, ops).await?;
            Ok(format!("stage {stage} now serves deployment {to}"))
        }
        LifecycleArgs::Canary {
            api,
            stage,
            promote,
            endpoint,
        } => {
            let ops = if promote {
                json!([
                    { "op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId" },
                    { "op": "remove", "path": "/canarySettings" }
                ])
            } else {
                json!([{ "op": "remove", "path": "/canarySettings" }])
            };
            let view = patch_stage(&endpoint, &api, &stage, ops).await?;
            Ok(format!(
                "stage {stage} serves deployment {}; no canary",
                view["deploymentId"].as_str().unwrap_or("(live file)")
            ))
        }
        LifecycleArgs::List { api, endpoint } => {
            let base = format!("/restapis/{}", encode(&api));
            let (list_path, stages_path) =
                (format!("{base}/deployments"), format!("{base}/stages"));
            let list = call(&endpoint, http::Method::GET, &list_path, None).await?;
            let stages = call(&endpoint, http::Method::GET, &stages_path, None).await?;
            Ok(table(&list, &stages))
        }
    }
}

/// One line per deployment: id, date, description, and the stages serving it.
fn table(list: &Value, stages: &Value) -> String {
    let empty = Vec::new();
    let stages = stages["item"].as_array().unwrap_or(&empty);
    let mut out = format!(
        "{:<8} {:<20} {:<16} DESCRIPTION",
        "ID", "CREATED (UTC)", "STAGES"
    );
    for d in list["item"].as_array().unwrap_or(&empty) {
        let id = d["id"].as_str().unwrap_or("");
        let created = d["createdDate"]
            .as_i64()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let serving: Vec<String> = stages
            .iter()
            .filter_map(|s| {
                let name = s["stageName"].as_str()?;
                if s["deploymentId"].as_str() == Some(id) {
                    Some(name.to_owned())
                } else if s["canarySettings"]["deploymentId"].as_str() == Some(id) {
                    Some(format!("{name}(canary)"))
                } else {
                    None
                }
            })
            .collect();
        let description = d["description"].as_str().unwrap_or("");
        out.push_str(&format!(
            "\n{id:<8} {created:<20} {:<16} {description}",
            serving.join(",")
        ));
    }
    out
}

async fn patch_stage(endpoint: &str, api: &str, stage: &str, ops: Value) -> Result<Value, String> {
    let path = format!("/restapis/{}/stages/{}", encode(api), encode(stage));
    let body = json!({ "patchOperations": ops });
    call(endpoint, http::Method::PATCH, &path, Some(body)).await
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn call(
    endpoint: &str,
    method: http::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("bad endpoint `{endpoint}`: {e}"))?;
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(bytes))
        .map_err(|e| e.to_string())?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .to_bytes();
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !status.is_success() {
        let mut message = value["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        for e in value["errors"].as_array().into_iter().flatten() {
            message.push_str(&format!("\n  {}", e.as_str().unwrap_or("")));
        }
        return Err(format!("{status}: {message}"));
    }
    Ok(value)
}
