//! IAM authorizer config: the declared access keys, checked at load.

use std::collections::HashMap;

use toml::Spanned;

use super::auth::CredentialSection;
use super::error::Errors;
use crate::auth::sigv4::{IamCredential, IamCredentials};

/// Resolves `credentials = [...]`; every problem is reported at the key's place.
pub(super) fn resolve_credentials(
    what: &str,
    at: Option<usize>,
    list: &[Spanned<CredentialSection>],
    errors: &mut Errors<'_>,
) -> IamCredentials {
    if list.is_empty() {
        errors.at(
            at,
            format!("{what}: an IAM authorizer needs `credentials = [{{ access_key_id, secret_access_key, principal, routes }}]`"),
        );
    }
    let mut keys = HashMap::new();
    for entry in list {
        let place = Some(entry.span().start);
        let c = entry.get_ref();
        let id = c.access_key_id.as_str();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            errors.at(
                place,
                format!("{what}: `access_key_id = \"{id}\"` must be letters and digits"),
            );
        }
        if c.secret_access_key.is_empty() {
            errors.at(
                place,
                format!("{what}: key `{id}`: `secret_access_key` is empty"),
            );
        }
        if !is_principal_arn(&c.principal) {
            errors.at(
                place,
                format!("{what}: key `{id}`: `principal = \"{}\"` is not an IAM ARN like arn:aws:iam::123456789012:user/alice", c.principal),
            );
        }
        if c.routes.is_empty() || c.routes.iter().any(String::is_empty) {
            errors.at(
                place,
                format!("{what}: key `{id}`: `routes` needs at least one route key or pattern (\"GET /pets/*\", \"*\")"),
            );
        }
        let credential = IamCredential {
            secret: c.secret_access_key.clone(),
            principal: c.principal.clone(),
            user_id: c.user_id.clone().unwrap_or_else(|| id.to_owned()),
            routes: c.routes.clone(),
        };
        if keys.insert(id.to_owned(), credential).is_some() {
            errors.at(
                place,
                format!("{what}: access key `{id}` is declared twice"),
            );
        }
    }
    IamCredentials(keys)
}

/// `arn:PARTITION:iam::ACCOUNT(12 digits):RESOURCE` or an STS assumed role.
fn is_principal_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = parts[..] else {
        return false;
    };
    !partition.is_empty()
        && matches!(service, "iam" | "sts")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource.is_empty()
}
