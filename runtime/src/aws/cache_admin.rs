//! API Gateway's FlushStageCache: `DELETE /restapis/{restapi_id}/stages/{stage_name}/cache/data`,
//! as `aws apigateway flush-stage-cache` calls it.

use std::sync::Weak;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use http::{HeaderValue, StatusCode};

use crate::gateway::caching;
use crate::invoke::ACCOUNT_ID;
use crate::stack::StackInner;

/// Every API Gateway management path under this prefix is claimed by the stack.
pub const PATH_PREFIX: &str = "/restapis/";

type Shared = Weak<StackInner>;

pub(crate) fn router(stack: Shared) -> axum::Router {
    axum::Router::new()
        .route(
            "/restapis/{restapi_id}/stages/{stage_name}/cache/data",
            delete(flush_stage_cache),
        )
        .with_state(stack)
}

/// An error of the cache management API, mapped to its status and `x-amzn-ErrorType` here.
#[derive(Debug, thiserror::Error)]
pub enum CacheAdminError {
    /// No API with that id (or name).
    #[error("Invalid API identifier specified {ACCOUNT_ID}:{0}")]
    ApiNotFound(String),
    /// The API has no such stage.
    #[error("Invalid stage identifier specified")]
    StageNotFound,
    /// The stage exists but has no cache.
    #[error("Stage {0} has no cache cluster; add `cache = {{ ... }}` to the stage")]
    NoCache(String),
    /// The stack is shutting down.
    #[error("The service is shutting down")]
    ServiceUnavailable,
    /// The in-process cache was flushed but the shared level's store did not take the flush.
    #[error("The stage's shared cache could not be flushed: its store is unavailable; retry")]
    SharedCacheUnavailable,
}

impl IntoResponse for CacheAdminError {
    fn into_response(self) -> Response {
        let (status, error_type) = match &self {
            CacheAdminError::ApiNotFound(_) | CacheAdminError::StageNotFound => {
                (StatusCode::NOT_FOUND, "NotFoundException")
            }
            CacheAdminError::NoCache(_) => (StatusCode::BAD_REQUEST, "BadRequestException"),
            CacheAdminError::ServiceUnavailable | CacheAdminError::SharedCacheUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
            ),
        };
        let body = serde_json::json!({ "message": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        response
    }
}

/// Drops every entry of the stage's cache: 202 with an empty body, as AWS answers.
async fn flush_stage_cache(
    State(stack): State<Shared>,
    Path((api, stage)): Path<(String, String)>,
) -> Result<StatusCode, CacheAdminError> {
    let stack = stack.upgrade().ok_or(CacheAdminError::ServiceUnavailable)?;
    // The API's id as API Gateway reports it, or (for local use) its name in gateway.toml.
    let live = stack.live();
    let mounts: Vec<_> = live
        .router
        .mounts()
        .iter()
        .filter(|m| m.api_id == api || m.api_name == api)
        .collect();
    if mounts.is_empty() {
        return Err(CacheAdminError::ApiNotFound(api));
    }
    let mount = mounts
        .into_iter()
        .find(|m| m.stage == stage)
        .ok_or(CacheAdminError::StageNotFound)?;
    let of_stage = |router| {
        caching::stage_caches(router)
            .into_iter()
            .find(|c| c.api_id == mount.api_id && c.stage == mount.stage)
    };
    let found = of_stage(&live.router).ok_or(CacheAdminError::NoCache(stage))?;
    // A stage with a canary has a second cache for the canary's side; both are the stage's.
    let canary = of_stage(&live.canary_router);
    let mut shared_flushed = true;
    for cache in std::iter::once(&found).chain(canary.as_ref()) {
        cache.cache.flush();
        caching::bind_shared(&cache.cache, &stack);
        shared_flushed &= cache.cache.flush_shared().await;
    }
    if !shared_flushed {
        return Err(CacheAdminError::SharedCacheUnavailable);
    }
    tracing::info!(api = %found.api, stage = %found.stage, "stage cache flushed");
    Ok(StatusCode::ACCEPTED)
}
