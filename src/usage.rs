//! `portico usage`: reads a running server's `GET /usageplans/{id}/usage` and prints it as a
//! table, one row per key and day.

use std::process::ExitCode;

use bytes::Bytes;
use chrono::{NaiveDate, TimeDelta, Utc};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// What `portico usage` was asked for.
#[derive(Debug, PartialEq)]
pub struct UsageArgs {
    /// Base URL of the server, e.g. `http://127.0.0.1:3000`.
    pub endpoint: String,
    /// Usage plan id.
    pub plan: String,
    /// One key id, or every key of the plan.
    pub key: Option<String>,
    /// First day (default: the last day).
    pub start: Option<String>,
    /// Last day (default: today, UTC).
    pub end: Option<String>,
}

/// Parses `--endpoint URL --plan ID [--key ID] [--start DATE] [--end DATE]`.
pub fn parse(args: &[String]) -> Result<UsageArgs, String> {
    let (mut endpoint, mut plan, mut key, mut start, mut end) = (None, None, None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--endpoint" => &mut endpoint,
            "--plan" => &mut plan,
            "--key" => &mut key,
            "--start" => &mut start,
            "--end" => &mut end,
            other => return Err(format!("unknown argument `{other}`")),
        };
        *slot = Some(it.next().ok_or(format!("{arg} needs a value"))?.clone());
    }
    Ok(UsageArgs {
        endpoint: endpoint.ok_or("usage needs --endpoint URL")?,
        plan: plan.ok_or("usage needs --plan ID")?,
        key,
        start,
        end,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    usage_plan_id: String,
    start_date: String,
    end_date: String,
    values: std::collections::BTreeMap<String, Vec<[u64; 2]>>,
}

/// Fetches the usage and prints the table; exit 1 when the server refuses or is unreachable.
pub async fn run(args: UsageArgs) -> ExitCode {
    match fetch(&args).await {
        Ok(report) => {
            print!("{}", table(&report));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("portico usage: {message}");
            ExitCode::from(1)
        }
    }
}

async fn fetch(args: &UsageArgs) -> Result<Report, String> {
    let end = args
        .end
        .clone()
        .unwrap_or_else(|| Utc::now().date_naive().format("%Y-%m-%d").to_string());
    let start = args.start.clone().unwrap_or_else(|| end.clone());
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("startDate", &start)
        .append_pair("endDate", &end);
    if let Some(key) = &args.key {
        query.append_pair("keyId", key);
    }
    let plan =
        percent_encoding::utf8_percent_encode(&args.plan, percent_encoding::NON_ALPHANUMERIC);
    let url = format!(
        "{}/usageplans/{plan}/usage?{}",
        args.endpoint.trim_end_matches('/'),
        query.finish()
    );
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("bad endpoint `{url}`: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(uri)
        .await
        .map_err(|e| format!("cannot reach {}: {e}", args.endpoint))?;
    let status = response.status();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
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
        let kind = error_type.unwrap_or_else(|| status.to_string());
        return Err(format!("{kind}: {message}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("unexpected answer: {e}"))
}

fn table(report: &Report) -> String {
    let mut out = format!(
        "usage plan {}, {} to {}\n{:<12} {:<10} {:>10} {:>10}\n",
        report.usage_plan_id,
        report.start_date,
        report.end_date,
        "KEY",
        "DATE",
        "USED",
        "REMAINING"
    );
    let first = NaiveDate::parse_from_str(&report.start_date, "%Y-%m-%d").ok();
    for (key, days) in &report.values {
        for (i, [used, remaining]) in days.iter().enumerate() {
            let day = first
                .and_then(|d| d.checked_add_signed(TimeDelta::days(i as i64)))
                .map_or_else(|| "?".to_owned(), |d| d.format("%Y-%m-%d").to_string());
            out.push_str(&format!("{key:<12} {day:<10} {used:>10} {remaining:>10}\n"));
        }
    }
    if report.values.is_empty() {
        out.push_str("(no keys in this plan)\n");
    }
    out
}
