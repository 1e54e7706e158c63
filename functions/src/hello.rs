//! `hello`: greets the `{name}` path parameter of an HTTP API route.
//!
//! Written exactly as for AWS's `lambda_runtime`: a plain async fn over `LambdaEvent<T>` with
//! the `aws_lambda_events` types.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent};

#[derive(serde::Serialize)]
struct Greeting {
    message: String,
}

/// Answers `{"message":"Hello, NAME!"}`.
pub async fn handler(
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let name = event
        .payload
        .path_parameters
        .get("name")
        .map(String::as_str)
        .unwrap_or("world");
    tracing::info!(name, "greeting");
    let body = serde_json::to_string(&Greeting {
        message: format!("Hello, {name}!"),
    })?;
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 200;
    response.headers.insert("content-type", http_json());
    response.body = Some(Body::Text(body));
    Ok(response)
}

fn http_json() -> aws_lambda_events::http::HeaderValue {
    aws_lambda_events::http::HeaderValue::from_static("application/json")
}
