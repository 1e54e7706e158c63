//! `[apis.NAME.routes.integration]`: turns a `function` or `http` route of a REST API into a
//! non-proxy integration. Every template, selection pattern and mapping expression is
//! checked here, so a bad one is a load-time error with its file:line:col.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use super::schema::RouteSection;
use super::{ApiKind, RouteKey, Target};
use crate::gateway::custom_integration::{Backend, CustomIntegration, Passthrough};
use crate::gateway::http_proxy::UriPart;
use crate::gateway::integration_response::{
    compile_pattern, IntegrationResponse, IntegrationResponses,
};
use crate::gateway::media_templates::MediaTemplates;
use crate::gateway::parameter_mapping::{response_header, RequestTarget, Side, Source};

/// `[apis.NAME.routes.integration]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSection {
    /// `WHEN_NO_MATCH` (default), `WHEN_NO_TEMPLATES` or `NEVER`.
    pub passthrough_behavior: Option<Spanned<String>>,
    /// Request mapping templates (VTL) by media type, e.g. `"application/json"`.
    #[serde(default)]
    pub request_templates: BTreeMap<String, Spanned<String>>,
    /// `http` routes: `"integration.request.header.X" = "method.request.querystring.y"`.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, Spanned<String>>,
    /// Integration responses; none means one default 200 response passing the body through.
    #[serde(default)]
    pub responses: Vec<Spanned<ResponseSection>>,
}

/// `[[apis.NAME.routes.integration.responses]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSection {
    /// A regular expression matched against the whole error message (functions) or status
    /// code (HTTP); absent on the default response.
    pub selection_pattern: Option<Spanned<String>>,
    /// The status code the client gets.
    pub status_code: Spanned<u16>,
    /// `"method.response.header.X" = "integration.response.header.Y"` or `"'static'"`.
    #[serde(default)]
    pub response_parameters: BTreeMap<String, Spanned<String>>,
    /// Response mapping templates (VTL) by media type.
    #[serde(default)]
    pub response_templates: BTreeMap<String, Spanned<String>>,
}

/// Wraps a route's `function` / `http` target in its non-proxy integration, if it has one;
/// `None` when errors were recorded.
pub(super) fn resolve(
    api: &str,
    kind: ApiKind,
    key: &RouteKey,
    target: Target,
    route: &RouteSection,
    errors: &mut Errors<'_>,
) -> Option<Target> {
    let Some(section) = &route.integration else {
        return Some(target);
    };
    let at = Some(section.span().start);
    let section = section.get_ref();
    let before = errors.list.len();
    let mut error = |at: Option<usize>, message: String| {
        errors.at(
            at,
            format!("api `{api}`: route `{key}`: integration: {message}"),
        );
    };
    if kind != ApiKind::Rest {
        error(at, "non-proxy integrations are a REST API feature (`type = \"rest\"`); HTTP APIs use proxy integrations".into());
        return None;
    }
    let backend = match target {
        Target::Function(name) => Backend::Function(name),
        Target::Http(http) => Backend::Http(http),
        _ => {
            error(at, "applies to `function` and `http` routes only".into());
            return None;
        }
    };
    let passthrough = match &section.passthrough_behavior {
        None => Passthrough::WhenNoMatch,
        Some(p) => Passthrough::parse(p.get_ref()).unwrap_or_else(|e| {
            error(Some(p.span().start), e);
            Passthrough::WhenNoMatch
        }),
    };
    let request_templates = templates(&section.request_templates, "request_templates", &mut error);
    let mut request_parameters = Vec::new();
    for (name, value) in &section.request_parameters {
        let value_at = Some(value.span().start);
        let Backend::Http(http) = &backend else {
            error(value_at, format!("`{name}`: request_parameters apply to `http` routes (a function receives only the mapped body)"));
            continue;
        };
        let target = match RequestTarget::parse(name) {
            Ok(t) => t,
            Err(e) => {
                error(value_at, e);
                continue;
            }
        };
        if let RequestTarget::Path(p) = &target {
            let in_url = http
                .parts
                .iter()
                .any(|part| matches!(part, UriPart::PathParam(n) if n == p));
            if !in_url {
                error(
                    value_at,
                    format!("`{name}`: the URL `{}` has no `{{{p}}}`", http.template),
                );
                continue;
            }
        }
        match Source::parse(value.get_ref(), Side::Request) {
            Ok(source) => request_parameters.push((target, source)),
            Err(e) => error(value_at, e),
        }
    }
    let mut responses = Vec::new();
    let mut default_seen = false;
    for response in &section.responses {
        let r = response.get_ref();
        let pattern = match &r.selection_pattern {
            None if default_seen => {
                error(
                    Some(response.span().start),
                    "only one response may be the default (without `selection_pattern`)".into(),
                );
                None
            }
            None => {
                default_seen = true;
                None
            }
            Some(p) => compile_pattern(p.get_ref())
                .map_err(|e| error(Some(p.span().start), e))
                .ok(),
        };
        let status = match StatusCode::from_u16(*r.status_code.get_ref()) {
            Ok(s) if (100..=599).contains(&s.as_u16()) => s,
            _ => {
                error(
                    Some(r.status_code.span().start),
                    format!(
                        "`status_code = {}` is not an HTTP status",
                        r.status_code.get_ref()
                    ),
                );
                StatusCode::OK
            }
        };
        let mut parameters = Vec::new();
        for (name, value) in &r.response_parameters {
            let value_at = Some(value.span().start);
            match (
                response_header(name),
                Source::parse(value.get_ref(), Side::Response),
            ) {
                (Ok(header), Ok(source)) => parameters.push((header, source)),
                (Err(e), _) | (_, Err(e)) => error(value_at, e),
            }
        }
        let templates = templates(&r.response_templates, "response_templates", &mut error);
        responses.push(IntegrationResponse::new(
            pattern, status, parameters, templates,
        ));
    }
    if errors.list.len() != before {
        return None;
    }
    Some(Target::Custom(Arc::new(CustomIntegration {
        backend,
        passthrough,
        request_templates,
        request_parameters,
        responses: IntegrationResponses::new(responses),
    })))
}

/// Parses templates by media type, reporting a bad one at its own place.
fn templates(
    section: &BTreeMap<String, Spanned<String>>,
    what: &str,
    error: &mut impl FnMut(Option<usize>, String),
) -> MediaTemplates {
    let mut ok = Vec::new();
    for (media_type, source) in section {
        match MediaTemplates::parse([(media_type.as_str(), source.get_ref().as_str())]) {
            Ok(_) => ok.push((media_type.as_str(), source.get_ref().as_str())),
            Err((_, e)) => error(Some(source.span().start), format!("{what}: {e}")),
        }
    }
    MediaTemplates::parse(ok).unwrap_or_default()
}
