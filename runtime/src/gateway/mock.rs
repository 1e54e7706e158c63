//! Mock integrations: the route answers from its own mapping template, so a team can mock
//! an API before its backend exists. The template reads the request as `$input`, plus
//! `$context` and `$stageVariables`, as API Gateway's integration response templates do.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::error::GatewayError;
use super::response::ProxyResponse;
use crate::vtl::{Input, RenderError, Template};

/// A validated mock integration.
#[derive(Debug, Clone, PartialEq)]
pub struct MockTarget {
    /// The status it answers with.
    pub status: StatusCode,
    /// The response body template; an empty body without one.
    pub template: Option<Template>,
    /// The response's `Content-Type`.
    pub content_type: HeaderValue,
}

impl Eq for MockTarget {}

impl MockTarget {
    /// Validates a mock's settings: the status, the template (which must parse), the type.
    pub fn new(
        status: Option<u16>,
        template: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<MockTarget, String> {
        let status = match status {
            None => StatusCode::OK,
            Some(s) => StatusCode::from_u16(s)
                .ok()
                .filter(|s| (100..=599).contains(&s.as_u16()))
                .ok_or_else(|| format!("`status = {s}` is not an HTTP status"))?,
        };
        let template = template
            .map(Template::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let content_type = HeaderValue::from_str(content_type.unwrap_or("application/json"))
            .map_err(|_| "`content_type` is not a valid header value".to_owned())?;
        Ok(MockTarget {
            status,
            template,
            content_type,
        })
    }
}

/// The request as mapping templates see it.
pub(crate) struct TemplateRequest<'a> {
    /// `$input`.
    pub input: Input<'a>,
    /// `$context`.
    pub context: Value,
    /// `$stageVariables`.
    pub stage_variables: Value,
}

impl<'a> TemplateRequest<'a> {
    /// Builds what templates read from one request.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        parts: &http::request::Parts,
        body: &'a [u8],
        path_params: &[(String, &str)],
        variables: &std::collections::BTreeMap<String, String>,
        request_id: &str,
        stage: &str,
        api_id: &str,
        resource: &str,
        source_ip: &str,
        time_epoch_ms: u64,
    ) -> Result<TemplateRequest<'a>, (GatewayError, String)> {
        let body = std::str::from_utf8(body)
            .map_err(|_| (GatewayError::BadRequest, "the body is not UTF-8".to_owned()))?;
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        };
        let input = Input {
            body,
            path: path_params
                .iter()
                .map(|(k, v)| (k.clone(), decode(v)))
                .collect(),
            querystring: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
            header: parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
        };
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let context = json!({
            "requestId": request_id,
            "httpMethod": parts.method.as_str(),
            "resourcePath": resource,
            "path": parts.uri.path(),
            "stage": stage,
            "apiId": api_id,
            "requestTimeEpoch": time_epoch_ms,
            "protocol": "HTTP/1.1",
            "domainName": header(http::header::HOST),
            "identity": { "sourceIp": source_ip, "userAgent": header(http::header::USER_AGENT) },
        });
        Ok(TemplateRequest {
            input,
            context,
            stage_variables: Value::Object(
                variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        })
    }

    /// Renders `template` against this request.
    pub(crate) fn render(&self, template: &Template) -> Result<String, (GatewayError, String)> {
        template
            .render(&self.input, &self.context, &self.stage_variables)
            .map_err(|e| match e {
                RenderError::BodyNotJson => (GatewayError::BadRequest, e.to_string()),
                RenderError::Call(_) => (
                    GatewayError::BadGateway,
                    format!("mapping template failed: {e}"),
                ),
            })
    }
}

/// Answers a mock route.
pub(crate) fn respond(
    target: &MockTarget,
    request: &TemplateRequest<'_>,
) -> Result<ProxyResponse, (GatewayError, String)> {
    let body = match &target.template {
        Some(t) => request.render(t)?,
        None => String::new(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, target.content_type.clone());
    Ok(ProxyResponse {
        status: target.status,
        headers,
        body: Bytes::from(body),
    })
}
