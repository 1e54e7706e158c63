//! `[apis.NAME.gateway_responses.TYPE]`: customized gateway responses, as written and resolved.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::error::Errors;

/// `[apis.NAME.gateway_responses.TYPE]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayResponseSection {
    /// The status code to answer with (default: the error's own).
    pub status: Option<Spanned<u16>>,
    /// Headers to set.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A body template (`$context.error.message`, `$context.error.messageString`,
    /// `$context.error.responseType`, `$context.requestId`, `$context.stage`, `$context.apiId`).
    pub body: Option<String>,
}

/// Resolves one customized response, collecting its errors.
pub(super) fn resolve(
    api: &str,
    kind: &str,
    section: &Spanned<GatewayResponseSection>,
    errors: &mut Errors<'_>,
) -> Option<crate::auth::gateway_responses::GatewayResponse> {
    use crate::auth::gateway_responses::{GatewayResponse, RESPONSE_TYPES};
    let before = errors.list.len();
    let at = Some(section.span().start);
    if !RESPONSE_TYPES.contains(&kind) {
        errors.at(
            at,
            format!(
                "api `{api}`: gateway response `{kind}` is not one of {}",
                RESPONSE_TYPES.join(", ")
            ),
        );
    }
    let s = section.get_ref();
    let status = s
        .status
        .as_ref()
        .and_then(|st| match http::StatusCode::from_u16(*st.get_ref()) {
            Ok(code) if (200..600).contains(st.get_ref()) => Some(code),
            _ => {
                errors.at(
                    Some(st.span().start),
                    format!("api `{api}`: gateway response `{kind}`: `status` must be 200 to 599"),
                );
                None
            }
        });
    let mut headers = http::HeaderMap::new();
    for (name, value) in &s.headers {
        match (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.insert(n, v);
            }
            _ => errors.at(
                at,
                format!(
                    "api `{api}`: gateway response `{kind}`: header `{name}` is not a valid header"
                ),
            ),
        }
    }
    (errors.list.len() == before).then(|| GatewayResponse {
        status,
        headers,
        body: s.body.clone(),
    })
}
