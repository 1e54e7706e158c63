//! API Gateway's export: `GET /restapis/{id}/stages/{stage}/exports/oas30` answers with the
//! running API as OpenAPI 3 with API Gateway's extensions, as `aws apigateway get-export`
//! fetches it.

use std::sync::Weak;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode};

use crate::stack::StackInner;

type Shared = Weak<StackInner>;

pub(crate) fn router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route(
            "/restapis/{id}/stages/{stage}/exports/{export_type}",
            get(get_export),
        )
        .with_state(stack)
}

async fn get_export(
    State(stack): State<Shared>,
    Path((id, stage, export_type)): Path<(String, String, String)>,
) -> Response {
    let Some(stack) = stack.upgrade() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "the stack is shutting down".into(),
        );
    };
    // By id, as AWS; by name too, as the cache API accepts.
    let live = stack.live();
    let Some(api) = live.config.apis.iter().find(|a| a.id == id || a.name == id) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!(
                "Invalid API identifier specified {}:{id}",
                crate::invoke::ACCOUNT_ID
            ),
        );
    };
    if !api.stages.iter().any(|s| s.name == stage) {
        return error(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            "Invalid stage identifier specified".into(),
        );
    }
    if export_type != "oas30" {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            format!("Export type `{export_type}` is not supported; Portico exports oas30"),
        );
    }
    let document = crate::openapi::export(&api.openapi, &stage);
    let mut response = (StatusCode::OK, axum::Json(document)).into_response();
    insert_request_id(response.headers_mut());
    response
}

fn error(status: StatusCode, error_type: &'static str, message: String) -> Response {
    let mut response = (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    insert_request_id(response.headers_mut());
    response
}

fn insert_request_id(headers: &mut http::HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&crate::observe::ids::uuid()) {
        headers.insert("x-amzn-requestid", v);
    }
}
