//! A function built with AWS's `lambda_http`, which parses API Gateway's payload formats 1.0
//! and 2.0 strictly: answers with what it understood of the request.

use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let format = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(_)) => "v1",
        Some(RequestContext::ApiGatewayV2(_)) => "v2",
        _ => "other",
    };
    let name = req
        .path_parameters_ref()
        .and_then(|p| p.first("name"))
        .unwrap_or("nobody")
        .to_owned();
    let q = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("q"))
        .unwrap_or("")
        .to_owned();
    let body = format!(
        "{format} {} {} name={name} q={q} body={}",
        req.method(),
        req.uri().path(),
        String::from_utf8_lossy(req.body().as_ref())
    );
    Ok(Response::builder()
        .status(201)
        .header("x-fixture", format)
        .body(Body::from(body))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(handler)).await
}
