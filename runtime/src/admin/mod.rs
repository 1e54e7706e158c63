//! The admin listener: the dashboard, Prometheus metrics, GetMetricData-shaped queries, and
//! the log groups.
//! It listens apart from the gateway so that its paths never shadow a user's routes.

mod dashboard_data;
mod logs_api;
mod metrics_query;
mod traces_api;

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::routing::{get, post};

use crate::observe::metrics::{prometheus, Metrics};
use crate::observe::LogStore;

/// What the admin endpoints read.
#[derive(Clone)]
pub struct AdminState {
    /// Every metric series.
    pub metrics: Arc<Metrics>,
    /// Every log group.
    pub logs: Arc<LogStore>,
    /// The stack, for the dashboard.
    pub stack: crate::stack::Stack,
}

impl FromRef<AdminState> for crate::stack::Stack {
    fn from_ref(state: &AdminState) -> Self {
        state.stack.clone()
    }
}

impl FromRef<AdminState> for Arc<Metrics> {
    fn from_ref(state: &AdminState) -> Self {
        state.metrics.clone()
    }
}

impl FromRef<AdminState> for Arc<LogStore> {
    fn from_ref(state: &AdminState) -> Self {
        state.logs.clone()
    }
}

/// The admin API.
pub fn router(state: AdminState) -> axum::Router {
    axum::Router::new()
        .route("/", get(dashboard_page))
        .route("/dashboard/data", get(dashboard_data::handle))
        .route("/metrics", get(prometheus_text))
        .route("/metrics/query", post(metrics_query::handle))
        .route("/logs", get(logs_api::events))
        .route("/logs/groups", get(logs_api::groups))
        .route("/traces", get(traces_api::list))
        .route("/traces/{id}", get(traces_api::get))
        .with_state(state)
}

async fn dashboard_page() -> impl axum::response::IntoResponse {
    axum::response::Html(include_str!("dashboard.html"))
}

async fn prometheus_text(State(state): State<AdminState>) -> impl axum::response::IntoResponse {
    let mut text = prometheus::render(&state.metrics);
    if let Some(exporter) = state.stack.otlp_exporter() {
        text.push_str(&prometheus::render_export_counters(exporter.counters()));
    }
    ([("content-type", "text/plain; version=0.0.4")], text)
}
