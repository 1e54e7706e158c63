//! Integration responses of non-proxy integrations: which one answers is chosen by its
//! selection pattern — matched against a function error's `errorMessage`, or against an
//! HTTP backend's status code as text — and it sets the status, maps headers and renders
//! the body with its template, as API Gateway's integration responses do.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use regex_lite::Regex;

use super::error::GatewayError;
use super::media_templates::MediaTemplates;
use super::mock::TemplateRequest;
use super::parameter_mapping::{Scope, Source};
use super::response::ProxyResponse;
use crate::vtl::Input;

/// One integration response.
#[derive(Debug, Clone)]
pub struct IntegrationResponse {
    /// The selection pattern, anchored (`None`: the default response).
    pattern: Option<Regex>,
    /// The status code sent to the client.
    pub status: StatusCode,
    /// `method.response.header.NAME` values.
    pub parameters: Vec<(HeaderName, Source)>,
    /// Body templates by media type; none passes the integration's body through.
    pub templates: MediaTemplates,
}

impl PartialEq for IntegrationResponse {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.as_ref().map(Regex::as_str) == other.pattern.as_ref().map(Regex::as_str)
            && self.status == other.status
            && self.parameters == other.parameters
            && self.templates == other.templates
    }
}

/// Compiles a selection pattern for a whole-text match, as API Gateway matches (Java's
/// `String.matches`): `.*not found.*` matches `item not found`; `not found` does not.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        format!("selection pattern `{pattern}` is not a valid regular expression: {e}")
    })
}

impl IntegrationResponse {
    /// A response; `pattern` comes from [`compile_pattern`].
    pub fn new(
        pattern: Option<Regex>,
        status: StatusCode,
        parameters: Vec<(HeaderName, Source)>,
        templates: MediaTemplates,
    ) -> Self {
        IntegrationResponse {
            pattern,
            status,
            parameters,
            templates,
        }
    }

    /// The default 200 response API Gateway's console creates: the body passes through.
    pub fn default_ok() -> Self {
        IntegrationResponse::new(None, StatusCode::OK, Vec::new(), MediaTemplates::default())
    }

    /// Whether this is the default response (no selection pattern).
    pub fn is_default(&self) -> bool {
        self.pattern.is_none()
    }

    /// Builds the method response from the integration's answer.
    pub(crate) fn respond(
        &self,
        request: &TemplateRequest<'_>,
        accept: Option<&str>,
        answer: &Answer<'_>,
    ) -> Result<ProxyResponse, (GatewayError, String)> {
        let mut headers = HeaderMap::new();
        let text = String::from_utf8_lossy(answer.body);
        let body = match self.templates.for_accept(accept) {
            None => {
                headers.insert(http::header::CONTENT_TYPE, answer.content_type.clone());
                Bytes::copy_from_slice(answer.body)
            }
            Some((media_type, template)) => {
                let input = Input {
                    body: &text,
                    path: request.input.path.clone(),
                    querystring: request.input.querystring.clone(),
                    header: request.input.header.clone(),
                };
                let rendered = template
                    .render(&input, &request.context, &request.stage_variables)
                    .map_err(|e| {
                        (
                            GatewayError::IntegrationFailure,
                            format!("integration response template failed: {e}"),
                        )
                    })?;
                if let Ok(v) = HeaderValue::from_str(media_type) {
                    headers.insert(http::header::CONTENT_TYPE, v);
                }
                Bytes::from(rendered)
            }
        };
        let scope = Scope {
            request,
            integration: Some((answer.headers, &text)),
        };
        for (name, source) in &self.parameters {
            let value = source.evaluate(&scope);
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name.clone(), v);
            }
        }
        Ok(ProxyResponse {
            status: self.status,
            headers,
            body,
        })
    }
}

/// What the integration answered, as the responses read it.
pub(crate) struct Answer<'a> {
    /// The body (a function's result or error as JSON; an upstream's body).
    pub body: &'a [u8],
    /// The integration's headers (none for a function).
    pub headers: &'a HeaderMap,
    /// The `Content-Type` of a passed-through body.
    pub content_type: HeaderValue,
}

/// A route's integration responses, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationResponses(Vec<IntegrationResponse>);

impl IntegrationResponses {
    /// The responses as written; none means the default 200 response.
    pub fn new(list: Vec<IntegrationResponse>) -> Self {
        if list.is_empty() {
            IntegrationResponses(vec![IntegrationResponse::default_ok()])
        } else {
            IntegrationResponses(list)
        }
    }

    /// The response for `selector` (an error message or a status code; `None` for a
    /// function's success): the first whose pattern matches the whole text, else the
    /// default response; `None` when there is no default either.
    pub fn select(&self, selector: Option<&str>) -> Option<&IntegrationResponse> {
        selector
            .and_then(|text| {
                self.0
                    .iter()
                    .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(text)))
            })
            .or_else(|| self.0.iter().find(|r| r.is_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(pattern: Option<&str>, status: u16) -> IntegrationResponse {
        IntegrationResponse::new(
            pattern.map(|p| compile_pattern(p).unwrap()),
            StatusCode::from_u16(status).unwrap(),
            Vec::new(),
            MediaTemplates::default(),
        )
    }

    #[test]
    fn patterns_match_the_whole_text_and_fall_back_to_the_default() {
        let responses = IntegrationResponses::new(vec![
            response(None, 200),
            response(Some(".*not found.*"), 404),
            response(Some("4\\d{2}"), 400),
            response(Some("invalid"), 422),
        ]);
        let status = |s: Option<&str>| responses.select(s).map(|r| r.status.as_u16());
        assert_eq!(status(Some("item not found: 7")), Some(404));
        assert_eq!(status(Some("403")), Some(400));
        assert_eq!(status(Some("4033")), Some(200));
        assert_eq!(status(Some("invalid input")), Some(200), "anchored");
        assert_eq!(status(None), Some(200));
        let no_default = IntegrationResponses::new(vec![response(Some("5\\d\\d"), 502)]);
        assert!(no_default.select(Some("200")).is_none());
        assert!(compile_pattern("(").is_err());
    }
}
