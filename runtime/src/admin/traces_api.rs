//! `GET /traces?limit=N` (the newest request timelines, newest first) and
//! `GET /traces/{traceId}` (every timeline of one trace; `Root=1-...` or the whole header).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::stack::Stack;

/// Query parameters of `GET /traces`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many timelines (default 20, at most 1000).
    limit: Option<usize>,
}

/// Lists the newest timelines.
pub async fn list(
    State(stack): State<Stack>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("expected ?limit=N (1 to 1000)");
    };
    let limit = query.limit.unwrap_or(20);
    if limit == 0 || limit > crate::observe::traces::TRACES_KEPT {
        return bad_request("expected ?limit=N (1 to 1000)");
    }
    let traces: Vec<_> = stack
        .traces()
        .recent(limit)
        .iter()
        .map(|t| t.to_json())
        .collect();
    Json(json!({"traces": traces})).into_response()
}

/// One trace's timelines.
pub async fn get(State(stack): State<Stack>, Path(id): Path<String>) -> Response {
    let traces = stack.traces().get(&id);
    if traces.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            Json(json!({"message": format!("no recent request has trace id {id}")})),
        )
            .into_response();
    }
    let traces: Vec<_> = traces.iter().map(|t| t.to_json()).collect();
    Json(json!({"traces": traces})).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"message": message}))).into_response()
}
