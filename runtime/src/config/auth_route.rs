//! A route's authorization config (`authorizer`, `authorization_scopes`, `resource_policy`)
//! and resource policies, shared by APIs and routes.

use std::collections::BTreeMap;

use toml::Spanned;

use super::auth::{AuthorizerSection, ResourcePolicySection, RouteAuth};
use super::error::Errors;
use crate::auth::IpPolicy;

/// Resolves `allow_source_ips` / `deny_source_ips`; `what` names the API or route.
pub(super) fn resolve_policy(
    what: &str,
    p: &ResourcePolicySection,
    errors: &mut Errors<'_>,
) -> IpPolicy {
    let mut parse = |list: &Option<Spanned<Vec<String>>>| {
        let mut nets = Vec::new();
        let Some(list) = list else {
            return nets;
        };
        for cidr in list.get_ref() {
            match crate::auth::policy::Cidr::parse(cidr) {
                Some(net) => nets.push(net),
                None => errors.at(
                    Some(list.span().start),
                    format!(
                        "{what}: resource_policy: `{cidr}` is not a CIDR range like 10.0.0.0/8"
                    ),
                ),
            }
        }
        nets
    };
    IpPolicy {
        allow: parse(&p.allow_source_ips),
        deny: parse(&p.deny_source_ips),
    }
}

/// Resolves a route's `authorizer` and `authorization_scopes`.
pub(super) fn resolve_route(
    api: &str,
    key: &super::RouteKey,
    route: &super::schema::RouteSection,
    authorizers: &BTreeMap<String, Spanned<AuthorizerSection>>,
    errors: &mut Errors<'_>,
) -> Option<RouteAuth> {
    let policy = route
        .resource_policy
        .as_ref()
        .map(|p| resolve_policy(&format!("api `{api}`: route `{key}`"), p.get_ref(), errors));
    let Some(name) = &route.authorizer else {
        if !route.authorization_scopes.is_empty() {
            errors.at(
                Some(route.route.span().start),
                format!("api `{api}`: route `{key}`: `authorization_scopes` needs an `authorizer`"),
            );
        }
        return policy.map(|policy| RouteAuth {
            policy: Some(policy),
            ..RouteAuth::default()
        });
    };
    match authorizers.get(name.get_ref()) {
        None => {
            errors.at(
                Some(name.span().start),
                format!(
                    "api `{api}`: route `{key}` names authorizer `{}`, which is not declared under [apis.{api}.authorizers]",
                    name.get_ref()
                ),
            );
            None
        }
        Some(a)
            if a.get_ref().kind.get_ref() != "jwt" && !route.authorization_scopes.is_empty() =>
        {
            errors.at(
                Some(name.span().start),
                format!("api `{api}`: route `{key}`: `authorization_scopes` apply to JWT authorizers only"),
            );
            None
        }
        Some(_) => Some(RouteAuth {
            authorizer: Some(name.get_ref().clone()),
            scopes: route.authorization_scopes.clone(),
            policy,
        }),
    }
}
