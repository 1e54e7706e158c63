//! Pipeline step 8, the response: a proxy response as it is, or a gateway error as AWS
//! answers it (with the API's custom gateway responses), then CORS and the request and trace
//! id headers every response carries.

use axum::body::Body;
use http::{HeaderName, HeaderValue, Response};

use super::{Exchange, Outcome, TRACE_HEADER};
use crate::auth::{gateway_responses, CorsConfig};
use crate::config::ApiKind;
use crate::gateway::router::Mount;

// Constants, so the names are not parsed and validated again on every request.
const HTTP_API_REQUEST_ID: HeaderName = HeaderName::from_static("apigw-requestid");
const REST_API_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The response, with the error's detail and type when it is a gateway error.
pub(super) struct Finished {
    pub(super) response: Response<Body>,
    /// The error's detail, for the logs (never the client).
    pub(super) error_message: Option<String>,
    /// `x-amzn-errortype`'s value, when the error has one.
    pub(super) error_type: Option<&'static str>,
}

/// Turns the outcome into the response the client gets.
pub(super) fn respond(
    x: &Exchange<'_>,
    outcome: Outcome,
    streamed: Option<Body>,
    mount: Option<&Mount>,
    cors: Option<&CorsConfig>,
    kind: ApiKind,
) -> Finished {
    let mut error_type = None;
    let (mut response, error_message) = match outcome {
        Ok(proxy) => {
            let body = streamed.unwrap_or_else(|| Body::from(proxy.body));
            let mut response = Response::new(body);
            *response.status_mut() = proxy.status;
            *response.headers_mut() = proxy.headers;
            (response, None)
        }
        Err((err, detail)) => {
            let mut response = Response::new(Body::from(err.body()));
            *response.status_mut() = err.status();
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            error_type = err.error_type();
            if let Some(t) = error_type {
                headers.insert("x-amzn-errortype", HeaderValue::from_static(t));
            }
            if let Some(secs) = err.retry_after_secs() {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
            }
            if let Some(mount) = mount {
                if let Some(custom) = mount.auth.responses().find(&err) {
                    let message = err.to_string();
                    let ctx = gateway_responses::TemplateContext {
                        message: &message,
                        response_type: gateway_responses::response_type(&err),
                        request_id: x.request_id,
                        stage: &mount.stage,
                        api_id: &mount.api_id,
                    };
                    gateway_responses::apply(custom, &mut response, &ctx);
                }
            }
            (response, Some(detail))
        }
    };
    if let Some(cors) = cors {
        cors.decorate(&x.parts.method, &x.parts.headers, response.headers_mut());
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(x.request_id) {
        headers.insert(
            match kind {
                ApiKind::Http => HTTP_API_REQUEST_ID,
                ApiKind::Rest => REST_API_REQUEST_ID,
            },
            v,
        );
    }
    if let Ok(v) = HeaderValue::from_str(x.trace_id) {
        headers.insert(TRACE_HEADER, v);
    }
    Finished {
        response,
        error_message,
        error_type,
    }
}
