//! `GET /logs?group=...&since=MS|10m&filter=TEXT` and `GET /logs/groups`: the log groups,
//! read the way `aws logs tail` and `filter-log-events` read CloudWatch Logs.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::observe::LogStore;

/// Query parameters of `GET /logs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    group: String,
    /// Only events at or after this time: ms since the epoch, or a duration (`10m`, `1h`)
    /// back from now on the stack's clock.
    since: Option<String>,
    /// Only events whose message contains this text.
    filter: Option<String>,
    /// At most this many events (the newest), default 1000.
    limit: Option<usize>,
}

/// Lists log groups.
pub async fn groups(State(logs): State<Arc<LogStore>>) -> Response {
    Json(json!({"logGroups": logs.group_names().into_iter().map(|name| json!({"logGroupName": name})).collect::<Vec<_>>()})).into_response()
}

/// Reads one group's events, oldest first; `now` is the stack's time, for relative reads.
pub async fn events(
    State(stack): State<crate::stack::Stack>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "expected ?group=NAME[&since=MS|DURATION][&filter=TEXT][&limit=N]"})),
        )
            .into_response();
    };
    let logs = stack.logs();
    let now = stack.clock().now_millis();
    let since = match query.since.as_deref() {
        None => 0,
        Some(text) => match text.parse::<u64>() {
            Ok(ms) => ms,
            Err(_) => match crate::config::parse_duration(text) {
                Ok(back) => now.saturating_sub(back.as_millis() as u64),
                Err(e) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        [("x-amzn-errortype", "InvalidParameterException")],
                        Json(json!({"message": format!("since `{text}`: {e} (use ms since the epoch or a duration like 10m)")})),
                    )
                        .into_response()
                }
            },
        },
    };
    if !logs.group_names().contains(&query.group) {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            Json(json!({"message": format!("The specified log group does not exist: {}", query.group)})),
        )
            .into_response();
    }
    let mut events: Vec<_> = logs
        .events(&query.group)
        .into_iter()
        .filter(|e| e.timestamp >= since)
        .filter(|e| {
            query
                .filter
                .as_deref()
                .is_none_or(|f| e.message.contains(f))
        })
        .collect();
    let limit = query.limit.unwrap_or(1000);
    if events.len() > limit {
        events.drain(..events.len() - limit);
    }
    let events: Vec<_> = events
        .into_iter()
        .map(|e| json!({"timestamp": e.timestamp, "logStreamName": &*e.stream, "message": e.message}))
        .collect();
    Json(json!({"events": events, "now": now})).into_response()
}
