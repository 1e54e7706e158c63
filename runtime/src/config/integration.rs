//! Routes served by an HTTP proxy (`http = "..."`) or a mock (`mock = { ... }`) integration:
//! their keys validated here, so a bad URL, an unknown stage variable or a template that
//! does not parse is a load-time error, never a request-time one.

use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;
use super::schema::RouteSection;
use super::{parse_duration, RouteKey, Segment, Stage, Target};
use crate::gateway::http_proxy::HttpTarget;
use crate::gateway::mock::MockTarget;
use crate::gateway::validation::Validator;

/// `mock = { status = 200, template = "...", content_type = "application/json" }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSection {
    /// The status to answer with (default 200).
    pub status: Option<Spanned<u16>>,
    /// The response mapping template (VTL), rendered with the request as `$input`.
    pub template: Option<Spanned<String>>,
    /// The response's `Content-Type` (default `application/json`).
    pub content_type: Option<Spanned<String>>,
}

/// `validate = { body = '{"type": "object"}', parameters = ["querystring.q"] }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateSection {
    /// The body's model: JSON Schema draft 4, as JSON text.
    pub body: Option<Spanned<String>>,
    /// Required parameters: `path.NAME`, `querystring.NAME` or `header.NAME`.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// Resolves a route's `validate` table; a schema that is not JSON Schema is an error here.
pub(super) fn resolve_validator(
    api: &str,
    key: &RouteKey,
    route: &RouteSection,
    errors: &mut Errors<'_>,
) -> Option<Arc<Validator>> {
    let section = route.validate.as_ref()?;
    let v = section.get_ref();
    match Validator::new(v.body.as_ref().map(|b| b.get_ref().as_str()), &v.parameters) {
        Ok(validator) => Some(Arc::new(validator)),
        Err(e) => {
            let at = v
                .body
                .as_ref()
                .map_or(section.span().start, |b| b.span().start);
            errors.at(
                Some(at),
                format!("api `{api}`: route `{key}`: validate: {e}"),
            );
            None
        }
    }
}

/// What a route's integration keys resolve to.
pub(super) enum Resolved {
    /// Neither `http` nor `mock`: a function or workflow route.
    NotIntegration,
    /// A valid integration.
    Target(Target),
    /// Errors were recorded.
    Invalid,
}

/// Resolves `http` / `mock` (and `timeout`) of one route.
pub(super) fn resolve(
    api: &str,
    key: &RouteKey,
    route: &RouteSection,
    stages: &[Stage],
    errors: &mut Errors<'_>,
) -> Resolved {
    let key_at = route.route.span().start;
    if route.http.is_none() {
        if let Some(t) = &route.timeout {
            errors.at(
                Some(t.span().start),
                format!("api `{api}`: route `{key}`: `timeout` applies to `http` routes only"),
            );
            return Resolved::Invalid;
        }
    }
    let count = [
        route.function.is_some(),
        route.workflow.is_some(),
        route.http.is_some(),
        route.mock.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if route.http.is_none() && route.mock.is_none() {
        return Resolved::NotIntegration;
    }
    if count > 1 || route.sync {
        errors.at(Some(key_at), format!("api `{api}`: route `{key}` needs exactly one of `function = \"...\"`, `workflow = \"...\"`, `http = \"...\"` or `mock = {{ ... }}` (and `sync` only with `workflow`)"));
        return Resolved::Invalid;
    }
    let before = errors.list.len();
    if let Some(url) = &route.http {
        let timeout = route
            .timeout
            .as_ref()
            .and_then(|t| match parse_duration(t.get_ref()) {
                Ok(d) if d >= std::time::Duration::from_millis(50) => Some(d),
                Ok(_) => {
                    errors.at(
                        Some(t.span().start),
                        format!("api `{api}`: route `{key}`: `timeout` must be at least 50ms"),
                    );
                    None
                }
                Err(e) => {
                    errors.at(
                        Some(t.span().start),
                        format!("api `{api}`: route `{key}`: `timeout`: {e}"),
                    );
                    None
                }
            });
        let at = Some(url.span().start);
        let target = match HttpTarget::parse(url.get_ref(), timeout) {
            Ok(t) => t,
            Err(e) => {
                errors.at(at, format!("api `{api}`: route `{key}`: {e}"));
                return Resolved::Invalid;
            }
        };
        let params: Vec<&str> = key
            .path
            .iter()
            .flatten()
            .filter_map(|s| match s {
                Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        for p in target.path_params() {
            if !params.contains(&p) {
                errors.at(at, format!("api `{api}`: route `{key}`: the URL uses `{{{p}}}`, which is not a path parameter of the route"));
            }
        }
        for v in target.stage_variables() {
            for stage in stages.iter().filter(|s| !s.variables.contains_key(v)) {
                errors.at(at, format!("api `{api}`: route `{key}`: the URL uses `${{stageVariables.{v}}}`, which stage `{}` does not define", stage.name));
            }
        }
        return if errors.list.len() == before {
            Resolved::Target(Target::Http(Arc::new(target)))
        } else {
            Resolved::Invalid
        };
    }
    let Some(mock) = &route.mock else {
        return Resolved::NotIntegration;
    };
    let section = mock.get_ref();
    match MockTarget::new(
        section.status.as_ref().map(|s| *s.get_ref()),
        section.template.as_ref().map(|t| t.get_ref().as_str()),
        section.content_type.as_ref().map(|c| c.get_ref().as_str()),
    ) {
        Ok(target) => Resolved::Target(Target::Mock(Arc::new(target))),
        Err(e) => {
            let at = section
                .template
                .as_ref()
                .map_or(mock.span().start, |t| t.span().start);
            errors.at(Some(at), format!("api `{api}`: route `{key}`: mock: {e}"));
            Resolved::Invalid
        }
    }
}
