//! API Gateway's management API for keys and usage plans (`/apikeys`, `/usageplans`), as
//! boto3 and the AWS CLI call it: JSON bodies, dates in epoch seconds, errors as
//! `{"message": ...}` with `x-amzn-ErrorType`.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::stack::StackInner;
use crate::traffic::{CreateApiKeyRequest, Page, TrafficControl, TrafficError};

type Shared = Weak<StackInner>;
type Params = Query<HashMap<String, String>>;

/// Whether `path` belongs to this API.
pub(crate) fn claims(path: &str) -> bool {
    ["/apikeys", "/usageplans"].iter().any(|root| {
        path.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

pub(crate) fn router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route("/apikeys", get(get_api_keys).post(create_api_key))
        .route(
            "/apikeys/{id}",
            get(get_api_key)
                .patch(update_api_key)
                .delete(delete_api_key),
        )
        .route("/usageplans", get(get_usage_plans))
        .route("/usageplans/{id}", get(get_usage_plan))
        .route(
            "/usageplans/{id}/keys",
            axum::routing::post(create_usage_plan_key),
        )
        .route("/usageplans/{id}/usage", get(get_usage))
        .route(
            "/apikeys/{id}/{*rest}",
            axum::routing::any(unknown_resource),
        )
        .route(
            "/usageplans/{id}/{*rest}",
            axum::routing::any(unknown_resource),
        )
        .with_state(stack)
}

/// A management API error: API Gateway's status, `x-amzn-ErrorType` and `{"message"}`.
#[derive(Debug)]
pub struct ApiError(TrafficError);

impl From<TrafficError> for ApiError {
    fn from(e: TrafficError) -> Self {
        ApiError(e)
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(TrafficError::BadRequest(message.into()))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.0.status_and_type();
        let message = match &self.0 {
            // Store details name internal keys; they go to the log only.
            TrafficError::Store(e) => {
                tracing::error!(error = %e, "usage plan store failed");
                "Internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            axum::Json(serde_json::json!({ "message": message })),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        insert_request_id(headers);
        response
    }
}

fn insert_request_id(headers: &mut http::HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&crate::observe::ids::uuid()) {
        headers.insert("x-amzn-requestid", v);
    }
}

fn ok<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    insert_request_id(response.headers_mut());
    response
}

fn traffic(stack: &Shared) -> Result<Arc<StackInner>, ApiError> {
    stack.upgrade().ok_or_else(|| {
        ApiError(TrafficError::Store(crate::store::StoreError::Backend(
            "the stack is shutting down".into(),
        )))
    })
}

fn control(stack: &StackInner) -> &TrafficControl {
    stack.traffic.control()
}

fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid request body: {e}")))
}

fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(bad_request(format!(
            "Invalid {name} `{other}`: expected true or false"
        ))),
    }
}

fn page(params: &HashMap<String, String>) -> Result<Page, ApiError> {
    let limit = match params.get("limit") {
        None => None,
        Some(l) => Some(
            l.parse()
                .map_err(|_| bad_request(format!("Invalid limit `{l}`")))?,
        ),
    };
    Ok(Page {
        limit,
        position: params.get("position").cloned(),
    })
}

async fn create_api_key(State(stack): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let request: CreateApiKeyRequest = json(&body)?;
    let control = control(&stack);
    let key = control.create_api_key(request)?;
    control.persist_key(&key.id, None).await?;
    Ok(ok(StatusCode::CREATED, &key))
}

async fn get_api_keys(
    State(stack): State<Shared>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let include = flag(&params, "includeValues")?;
    // boto3's `nameQuery` travels as `name`.
    let name_query = params.get("name").map(String::as_str);
    let body = control(&stack).get_api_keys(name_query, include, &page(&params)?)?;
    Ok(ok(StatusCode::OK, &body))
}

async fn get_api_key(
    State(stack): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let body = control(&stack).get_api_key(&id, flag(&params, "includeValue")?)?;
    Ok(ok(StatusCode::OK, &body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchRequest {
    #[serde(default)]
    patch_operations: Vec<PatchOperation>,
}

#[derive(Deserialize)]
struct PatchOperation {
    op: String,
    path: String,
    #[serde(default)]
    value: Option<String>,
}

/// `PATCH /apikeys/{id}`: `replace /enabled` is the one change supported; every operation is
/// checked before any is applied.
async fn update_api_key(
    State(stack): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let control = control(&stack);
    let request: PatchRequest = json(&body)?;
    let mut enabled = None;
    for op in &request.patch_operations {
        match (op.op.as_str(), op.path.as_str(), op.value.as_deref()) {
            ("replace", "/enabled", Some("true")) => enabled = Some(true),
            ("replace", "/enabled", Some("false")) => enabled = Some(false),
            ("replace", "/enabled", other) => {
                return Err(bad_request(format!(
                    "Invalid value for /enabled: {}",
                    other.unwrap_or("(none)")
                )))
            }
            (op, path, _) => {
                return Err(bad_request(format!(
                    "Invalid patch operation `{op} {path}`: only `replace /enabled` is supported"
                )))
            }
        }
    }
    if let Some(enabled) = enabled {
        let before = control.keys().get(&id);
        control.keys().set_enabled(&id, enabled)?;
        control.persist_key(&id, before).await?;
    }
    Ok(ok(StatusCode::OK, &control.get_api_key(&id, false)?))
}

async fn delete_api_key(
    State(stack): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let control = control(&stack);
    let before = control.keys().get(&id);
    control.keys().delete(&id)?;
    control.persist_key(&id, before).await?;
    let mut response = StatusCode::ACCEPTED.into_response();
    insert_request_id(response.headers_mut());
    Ok(response)
}

async fn get_usage_plans(
    State(stack): State<Shared>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let control = control(&stack);
    let mut body = control.get_usage_plans(&page(&params)?)?;
    if let Some(key_id) = params.get("keyId") {
        let key = control.keys().get(key_id).ok_or(TrafficError::NotFound {
            kind: "API Key",
            id: key_id.clone(),
        })?;
        body.items
            .retain(|plan| key.usage_plans.iter().any(|p| **p == *plan.id));
    }
    Ok(ok(StatusCode::OK, &body))
}

async fn get_usage_plan(
    State(stack): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    Ok(ok(StatusCode::OK, &control(&stack).get_usage_plan(&id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsagePlanKeyRequest {
    key_id: String,
    key_type: String,
}

async fn create_usage_plan_key(
    State(stack): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let request: UsagePlanKeyRequest = json(&body)?;
    if request.key_type != "API_KEY" {
        return Err(bad_request(format!(
            "Invalid keyType `{}`: only API_KEY is supported",
            request.key_type
        )));
    }
    let control = control(&stack);
    let before = control.keys().get(&request.key_id);
    let body = control.create_usage_plan_key(&id, &request.key_id)?;
    control.persist_key(&request.key_id, before).await?;
    Ok(ok(StatusCode::CREATED, &body))
}

async fn get_usage(
    State(stack): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let stack = traffic(&stack)?;
    let date = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| bad_request(format!("{name} is required (YYYY-MM-DD)")))
    };
    let (start, end) = (date("startDate")?, date("endDate")?);
    let key_id = params.get("keyId").map(String::as_str);
    let report = control(&stack).get_usage(&id, key_id, start, end).await?;
    Ok(ok(StatusCode::OK, &report))
}

async fn unknown_resource() -> ApiError {
    ApiError(TrafficError::NotFound {
        kind: "resource",
        id: String::new(),
    })
}
