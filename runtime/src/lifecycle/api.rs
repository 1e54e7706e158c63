//! The lifecycle over HTTP, in API Gateway's own shapes where they exist:
//! `POST|GET /restapis/{id}/deployments` (CreateDeployment, GetDeployments),
//! `GET|DELETE /restapis/{id}/deployments/{deployment}` (GetDeployment, DeleteDeployment),
//! `GET /restapis/{id}/stages`, `GET|PATCH /restapis/{id}/stages/{stage}` (GetStages,
//! GetStage, UpdateStage with `/deploymentId` and `/canarySettings/...` patch operations);
//! and on the admin listener only, `POST /reload`. Errors map to HTTP here, in one place.

use std::collections::BTreeMap;
use std::sync::Weak;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Deployment, LifecycleError, NewDeployment, StageChange};
use crate::stack::{Stack, StackInner};

type Shared = Weak<StackInner>;

/// The AWS-shaped deployment and stage endpoints.
pub(crate) fn router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route(
            "/restapis/{restapi_id}/deployments",
            get(list_deployments).post(create_deployment),
        )
        .route(
            "/restapis/{restapi_id}/deployments/{deployment_id}",
            get(get_deployment).delete(delete_deployment),
        )
        .route("/restapis/{restapi_id}/stages", get(list_stages))
        .route(
            "/restapis/{restapi_id}/stages/{stage_name}",
            get(get_stage).patch(update_stage),
        )
        .with_state(stack)
}

/// The admin listener's lifecycle endpoints: the AWS shapes plus `POST /reload`.
pub(crate) fn admin_router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route("/reload", post(reload))
        .with_state(stack.clone())
        .merge(router(stack))
}

impl IntoResponse for LifecycleError {
    fn into_response(self) -> Response {
        let (status, error_type) = match &self {
            LifecycleError::ApiNotFound(_)
            | LifecycleError::StageNotFound
            | LifecycleError::DeploymentNotFound => (StatusCode::NOT_FOUND, "NotFoundException"),
            LifecycleError::BadRequest(_) | LifecycleError::Invalid(_) => {
                (StatusCode::BAD_REQUEST, "BadRequestException")
            }
            LifecycleError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"),
            LifecycleError::Conflict => (StatusCode::CONFLICT, "ConflictException"),
        };
        let body = match &self {
            LifecycleError::Invalid(errors) => json!({
                "message": self.to_string(),
                "errors": errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            }),
            // The detail (a path, an OS error) went to the log.
            LifecycleError::Storage(_) => json!({ "message": "Internal server error" }),
            _ => json!({ "message": self.to_string() }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        response
    }
}

fn stack(shared: &Shared) -> Result<Stack, LifecycleError> {
    shared
        .upgrade()
        .map(Stack::from_inner)
        .ok_or_else(|| LifecycleError::BadRequest("the stack is shutting down".into()))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, LifecycleError> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body)
        .map_err(|e| LifecycleError::BadRequest(format!("Invalid request body: {e}")))
}

async fn reload(State(shared): State<Shared>) -> Result<Response, LifecycleError> {
    let report = stack(&shared)?.reload().await?;
    Ok(axum::Json(json!({
        "reloaded": true,
        "functionsKept": report.functions_kept,
        "needsRestart": report.needs_restart,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDeploymentRequest {
    stage_name: Option<String>,
    #[serde(default)]
    description: String,
    canary_settings: Option<CanarySettingsRequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CanarySettingsRequest {
    percent_traffic: Option<f64>,
    #[serde(default)]
    stage_variable_overrides: BTreeMap<String, String>,
}

fn deployment_json(d: &Deployment) -> Value {
    json!({ "id": d.id, "description": d.description, "createdDate": d.created_date })
}

async fn create_deployment(
    State(shared): State<Shared>,
    Path(api): Path<String>,
    body: Bytes,
) -> Result<Response, LifecycleError> {
    let req: CreateDeploymentRequest = parse(&body)?;
    let (canary_percent, canary_variables) = match req.canary_settings {
        Some(c) => (
            Some(c.percent_traffic.unwrap_or(0.0)),
            c.stage_variable_overrides,
        ),
        None => (None, BTreeMap::new()),
    };
    let deployment = stack(&shared)?
        .deploy(
            &api,
            NewDeployment {
                stage: req.stage_name,
                description: req.description,
                canary_percent,
                canary_variables,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(deployment_json(&deployment)),
    )
        .into_response())
}

async fn list_deployments(
    State(shared): State<Shared>,
    Path(api): Path<String>,
) -> Result<Response, LifecycleError> {
    let list = stack(&shared)?.deployments(&api).await?;
    let items: Vec<Value> = list.deployments.iter().map(deployment_json).collect();
    Ok(axum::Json(json!({ "item": items })).into_response())
}

async fn get_deployment(
    State(shared): State<Shared>,
    Path((api, id)): Path<(String, String)>,
) -> Result<Response, LifecycleError> {
    let list = stack(&shared)?.deployments(&api).await?;
    let found = list.deployments.iter().find(|d| d.id == id);
    let deployment = found.ok_or(LifecycleError::DeploymentNotFound)?;
    Ok(axum::Json(deployment_json(deployment)).into_response())
}

/// AWS answers a deletion with 202 and no body.
async fn delete_deployment(
    State(shared): State<Shared>,
    Path((api, id)): Path<(String, String)>,
) -> Result<Response, LifecycleError> {
    stack(&shared)?.delete_deployment(&api, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn list_stages(
    State(shared): State<Shared>,
    Path(api): Path<String>,
) -> Result<Response, LifecycleError> {
    let list = stack(&shared)?.deployments(&api).await?;
    Ok(axum::Json(json!({ "item": list.stages })).into_response())
}

async fn get_stage(
    State(shared): State<Shared>,
    Path((api, stage)): Path<(String, String)>,
) -> Result<Response, LifecycleError> {
    let view = stack(&shared)?.stage(&api, &stage).await?;
    Ok(axum::Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateStageRequest {
    #[serde(default)]
    patch_operations: Vec<PatchOperation>,
}

#[derive(Deserialize)]
struct PatchOperation {
    op: String,
    path: String,
    value: Option<String>,
    from: Option<String>,
}

/// Reads a patch operation as a stage change; unsupported ones are a 400.
fn stage_change(op: &PatchOperation) -> Result<StageChange, LifecycleError> {
    let value = || {
        op.value
            .clone()
            .ok_or_else(|| LifecycleError::BadRequest(format!("`{}` needs a value", op.path)))
    };
    let variable = op
        .path
        .strip_prefix("/canarySettings/stageVariableOverrides/")
        .filter(|name| !name.is_empty());
    match (op.op.as_str(), op.path.as_str(), variable) {
        ("replace", "/deploymentId", _) => Ok(StageChange::Deployment(value()?)),
        ("copy", "/deploymentId", _)
            if op.from.as_deref() == Some("/canarySettings/deploymentId") =>
        {
            Ok(StageChange::Promote)
        }
        ("replace", "/canarySettings/percentTraffic", _) => {
            let text = value()?;
            let percent = text.parse::<f64>().map_err(|_| {
                LifecycleError::BadRequest(format!("percentTraffic `{text}` is not a number"))
            })?;
            Ok(StageChange::CanaryPercent(percent))
        }
        ("replace", _, Some(name)) => Ok(StageChange::CanaryVariable(name.to_owned(), value()?)),
        ("remove", "/canarySettings", _) => Ok(StageChange::Discard),
        (o, p, _) => Err(LifecycleError::BadRequest(format!(
            "Invalid patch operation: `{o} {p}` is not supported (use replace /deploymentId, \
             replace /canarySettings/percentTraffic, replace \
             /canarySettings/stageVariableOverrides/NAME, copy /canarySettings/deploymentId to \
             /deploymentId, or remove /canarySettings)"
        ))),
    }
}

async fn update_stage(
    State(shared): State<Shared>,
    Path((api, stage)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, LifecycleError> {
    let req: UpdateStageRequest = parse(&body)?;
    // Every operation is checked before any is applied.
    let changes = req
        .patch_operations
        .iter()
        .map(stage_change)
        .collect::<Result<Vec<_>, _>>()?;
    let stack = stack(&shared)?;
    let mut view = stack.stage(&api, &stage).await?;
    for change in changes {
        view = stack.change_stage(&api, &stage, change).await?;
    }
    Ok(axum::Json(view).into_response())
}
