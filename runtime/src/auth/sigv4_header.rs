//! The `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
//! header and its credential scope taken apart, and the route patterns of IAM credentials.

use crate::gateway::error::GatewayError;

/// The only signing algorithm SigV4 defines.
pub(super) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
pub(super) struct AuthorizationHeader<'a> {
    pub access_key: &'a str,
    pub scope_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

pub(super) fn incomplete(message: String) -> GatewayError {
    GatewayError::IncompleteSignature(message.into())
}

pub(super) fn parse_authorization(value: &str) -> Result<AuthorizationHeader<'_>, GatewayError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .unwrap_or("");
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (name, found) in [
        ("Credential", credential.is_some()),
        ("Signature", signature.is_some()),
        ("SignedHeaders", signed_headers.is_some()),
    ] {
        if !found {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(missing.join(" ")));
    };
    let (access_key, scope_date, region, service) = split_credential(credential)?;
    Ok(AuthorizationHeader {
        access_key,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// A credential `KEY/YYYYMMDD/region/service/aws4_request` taken apart.
pub(super) fn split_credential(credential: &str) -> Result<(&str, &str, &str, &str), GatewayError> {
    let mut parts = credential.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(key), Some(date), Some(region), Some(service), Some("aws4_request"), None) => {
            Ok((key, date, region, service))
        }
        _ => Err(incomplete(
            "Credential should be scoped to a valid region, a service and 'aws4_request'.".into(),
        )),
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let last = pieces.pop().unwrap_or("");
    for piece in pieces {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs() {
        assert!(glob_matches("*", "GET /a"));
        assert!(glob_matches("GET /pets/*", "GET /pets/{id}"));
        assert!(!glob_matches("GET /pets/*", "POST /pets/{id}"));
        assert!(glob_matches("* /a*c", "PUT /abc"));
        assert!(!glob_matches("GET /a", "GET /ab"));
        assert!(!glob_matches("*ab*ab", "xab"));
    }
}
