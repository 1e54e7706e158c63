//! The AWS wire APIs, so the AWS CLI and SDKs work against the stack unchanged.

pub mod apigateway;
pub mod lambda;

use std::sync::Weak;

use http::Request;

use crate::stack::StackInner;

/// Whether a request is for an AWS API rather than a gateway route.
pub(crate) fn claims<B>(req: &Request<B>) -> bool {
    let path = req.uri().path();
    path.starts_with(lambda::PATH_PREFIX) || apigateway::claims(path)
}

/// The router for every AWS API.
pub(crate) fn router(stack: Weak<StackInner>) -> axum::Router {
    axum::Router::new()
        .merge(lambda::router(stack.clone()))
        .merge(apigateway::router(stack))
}
