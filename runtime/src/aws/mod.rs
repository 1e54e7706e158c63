//! The AWS wire APIs, so the AWS CLI and SDKs work against the stack unchanged.

pub mod apigateway;
pub mod cache_admin;
pub mod exports;
pub mod lambda;
pub mod stepfunctions;

use std::sync::Weak;

use http::Request;

use crate::stack::StackInner;

/// Whether a request is for an AWS API rather than a gateway route.
pub(crate) fn claims<B>(req: &Request<B>) -> bool {
    let path = req.uri().path();
    // Every AWS path is `/` or starts `/2015-03-31/`, `/restapis/`, `/apikeys` or
    // `/usageplans`: one byte rules out nearly every gateway request before any full test.
    if !matches!(
        path.as_bytes().get(1),
        None | Some(b'2' | b'r' | b'a' | b'u')
    ) {
        return false;
    }
    // `/restapis/` also covers the OpenAPI exports and the deployment API.
    path.starts_with(lambda::PATH_PREFIX)
        || path.starts_with(cache_admin::PATH_PREFIX)
        || apigateway::claims(path)
        || (path == "/"
            && req
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("AWSStepFunctions.")))
}

/// The router for every AWS API.
pub(crate) fn router(stack: Weak<StackInner>, workflows: axum::Router) -> axum::Router {
    axum::Router::new()
        .merge(lambda::router(stack.clone()))
        .merge(cache_admin::router(stack.clone()))
        .merge(crate::lifecycle::api::router(stack.clone()))
        .merge(apigateway::router(stack.clone()))
        .merge(exports::router(stack))
        .merge(workflows)
}
