//! `portico logs GROUP [--follow] [--since 10m] [--filter TEXT] [--endpoint URL]`: prints a
//! log group of a running server, read from its admin API's `GET /logs`, in the manner of
//! `aws logs tail`; `--follow` keeps polling for new lines.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// The admin listener `portico logs` reads when no `--endpoint` is given.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9090";
/// How often `--follow` asks for new lines.
const POLL: Duration = Duration::from_secs(1);

/// What `portico logs` was asked for.
#[derive(Debug, PartialEq)]
pub struct LogsArgs {
    /// The log group, e.g. `/aws/lambda/hello`.
    pub group: String,
    /// Base URL of the admin API.
    pub endpoint: String,
    /// Keep printing new lines.
    pub follow: bool,
    /// Only lines this recent (`10m`) or since this epoch-ms time.
    pub since: Option<String>,
    /// Only lines containing this text.
    pub filter: Option<String>,
}

/// Parses `GROUP [--follow] [--since 10m] [--filter TEXT] [--endpoint URL]`.
pub fn parse(args: &[String]) -> Result<LogsArgs, String> {
    let mut parsed = LogsArgs {
        group: String::new(),
        endpoint: DEFAULT_ENDPOINT.into(),
        follow: false,
        since: None,
        filter: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--follow" | "-f" => parsed.follow = true,
            "--since" => {
                let since = value()?;
                if since.parse::<u64>().is_err() {
                    portico_runtime::config::parse_duration(&since)
                        .map_err(|e| format!("--since: {e}"))?;
                }
                parsed.since = Some(since);
            }
            "--filter" => parsed.filter = Some(value()?),
            "--endpoint" => parsed.endpoint = value()?,
            other if other.starts_with('-') => return Err(format!("unknown argument `{other}`")),
            group if parsed.group.is_empty() => parsed.group = group.to_owned(),
            extra => return Err(format!("unexpected argument `{extra}`")),
        }
    }
    if parsed.group.is_empty() {
        return Err("logs needs a log group, e.g. portico logs /aws/lambda/hello".into());
    }
    Ok(parsed)
}

#[derive(Deserialize)]
struct Page {
    events: Vec<Event>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Event {
    timestamp: u64,
    log_stream_name: String,
    message: String,
}

/// Prints the group (and, with `--follow`, new lines as they come); exit 1 when the server
/// refuses or cannot be reached.
pub async fn run(args: LogsArgs) -> ExitCode {
    let mut since = args.since.clone();
    // Lines already printed at the newest timestamp seen, so a poll from it repeats none.
    let mut printed_at_last: Vec<Event> = Vec::new();
    loop {
        let page = match fetch(&args, since.as_deref()).await {
            Ok(page) => page,
            Err(message) => {
                eprintln!("portico logs: {message}");
                return ExitCode::from(1);
            }
        };
        for event in page.events {
            if printed_at_last.contains(&event) {
                continue;
            }
            println!("{}", line(&event));
            if printed_at_last
                .first()
                .is_some_and(|e| e.timestamp != event.timestamp)
            {
                printed_at_last.clear();
            }
            since = Some(event.timestamp.to_string());
            printed_at_last.push(event);
        }
        if !args.follow {
            return ExitCode::SUCCESS;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn line(event: &Event) -> String {
    let time = Utc
        .timestamp_millis_opt(event.timestamp as i64)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())
        .unwrap_or_else(|| event.timestamp.to_string());
    format!("{time} {} {}", event.log_stream_name, event.message)
}

async fn fetch(args: &LogsArgs, since: Option<&str>) -> Result<Page, String> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("group", &args.group);
    if let Some(since) = since {
        query.append_pair("since", since);
    }
    if let Some(filter) = &args.filter {
        query.append_pair("filter", filter);
    }
    let url = format!(
        "{}/logs?{}",
        args.endpoint.trim_end_matches('/'),
        query.finish()
    );
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("bad endpoint `{}`: {e}", args.endpoint))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(uri)
        .await
        .map_err(|e| format!("cannot reach {}: {e}", args.endpoint))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .to_bytes();
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(format!("{status}: {message}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("unexpected answer: {e}"))
}
