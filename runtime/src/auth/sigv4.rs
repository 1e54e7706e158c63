//! IAM authorizers: requests signed with AWS Signature Version 4 — in the `Authorization`
//! header or presigned in the query string — against credentials declared in config, checked
//! as API Gateway checks them: the key, the credential scope, the clock skew (5 minutes either
//! way, or the presigned `X-Amz-Expires`), the signature over the request and its body, then
//! whether the key's principal may call the route.

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::sigv4_canonical::{canonical_request, hex, sha256_hex, CanonicalInput};
use super::sigv4_header::{glob_matches, incomplete, parse_authorization, ALGORITHM};
use super::sigv4_query;
use super::AuthRequest;
use crate::gateway::error::GatewayError;
use crate::invoke::REGION;

/// The service name a request for API Gateway is signed for.
pub const SERVICE: &str = "execute-api";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The skew API Gateway tolerates between the signing time and its clock.
const MAX_SKEW_SECS: i64 = 5 * 60;
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// A declared access key.
#[derive(Debug, Clone)]
pub struct IamCredential {
    /// The secret access key.
    pub secret: String,
    /// The principal the key belongs to (an IAM user or role ARN).
    pub principal: String,
    /// The IAM unique id reported as `caller` / `user` (defaults to the access key id).
    pub user_id: String,
    /// Route key patterns the principal may invoke (`*` matches any run of characters).
    pub routes: Vec<String>,
}

/// The declared keys of an IAM authorizer, by access key id.
#[derive(Debug, Clone, Default)]
pub struct IamCredentials(pub HashMap<String, IamCredential>);

/// Who signed a request, as API Gateway reports it to the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamIdentity {
    /// The access key id.
    pub access_key: String,
    /// The principal's account (from its ARN).
    pub account_id: String,
    /// The IAM unique id of the caller.
    pub caller: String,
    /// The principal's ARN.
    pub user_arn: String,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Verifies the request's signature and the principal's permission for the route.
pub(super) fn verify(
    credentials: &IamCredentials,
    req: &AuthRequest<'_>,
    method_arn: &str,
    now_millis: u64,
) -> Result<IamIdentity, (GatewayError, String)> {
    let presigned;
    let (auth, amz_date, expires, presigned_form) = if let Some(value) =
        req.headers.get(http::header::AUTHORIZATION)
    {
        let value = value.to_str().unwrap_or("");
        let auth = parse_authorization(value).map_err(|e| (e, "malformed Authorization".into()))?;
        let Some(amz_date) = req.headers.get("x-amz-date").and_then(|v| v.to_str().ok()) else {
            return Err((
                incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into()),
                "no X-Amz-Date".into(),
            ));
        };
        (auth, amz_date, None, false)
    } else if sigv4_query::is_presigned(req.query) {
        presigned =
            sigv4_query::parse(req.query).map_err(|e| (e, "malformed presigned query".into()))?;
        let auth = presigned
            .parts()
            .map_err(|e| (e, "malformed X-Amz-Credential".into()))?;
        (auth, presigned.amz_date.as_str(), presigned.expires, true)
    } else {
        return Err((
            GatewayError::MissingAuthenticationToken,
            "neither an Authorization header nor a presigned query on an IAM route".into(),
        ));
    };
    let Some(credential) = credentials.0.get(auth.access_key) else {
        return Err((
            GatewayError::UnrecognizedClient,
            format!("unknown access key {}", auth.access_key),
        ));
    };
    let bad = |message: String, detail: &str| {
        Err((
            GatewayError::InvalidSignature(message.into()),
            detail.to_owned(),
        ))
    };
    if auth.region != REGION {
        return bad(
            "Credential should be scoped to a valid region.".into(),
            "wrong region in the credential scope",
        );
    }
    if auth.service != SERVICE {
        return bad(
            format!("Credential should be scoped to correct service: '{SERVICE}'."),
            "wrong service in the credential scope",
        );
    }
    let Ok(signed_at) = chrono::NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT) else {
        return bad(
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'.",
                amz_date.escape_default()
            ),
            "malformed X-Amz-Date",
        );
    };
    if !amz_date.starts_with(auth.scope_date) || auth.scope_date.len() != 8 {
        return bad(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.".into(),
            "credential scope date differs from X-Amz-Date",
        );
    }
    let now = chrono::DateTime::from_timestamp_millis(now_millis as i64)
        .unwrap_or_default()
        .naive_utc();
    let skew = chrono::Duration::seconds(MAX_SKEW_SECS);
    let fmt = |t: chrono::NaiveDateTime| t.format(AMZ_DATE_FORMAT).to_string();
    match expires {
        Some(secs) if now > signed_at + chrono::Duration::seconds(secs) => {
            return bad(
                format!(
                    "Signature expired: {} is now earlier than {} ({} - {secs} sec.)",
                    fmt(signed_at),
                    fmt(now - chrono::Duration::seconds(secs)),
                    fmt(now)
                ),
                "presigned request expired",
            );
        }
        Some(_) => {}
        None if signed_at < now - skew => {
            return bad(
                format!(
                    "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                    fmt(signed_at),
                    fmt(now - skew),
                    fmt(now)
                ),
                "signature expired",
            );
        }
        None => {}
    }
    if signed_at > now + skew {
        return bad(
            format!(
                "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                fmt(signed_at),
                fmt(now + skew),
                fmt(now)
            ),
            "signature not yet current",
        );
    }
    if !auth.signed_headers.split(';').any(|h| h == "host") {
        return bad(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            "host not signed",
        );
    }
    let body_hash = sha256_hex(req.body.unwrap_or_default());
    let payload_hash = match req
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(UNSIGNED_PAYLOAD) => UNSIGNED_PAYLOAD,
        // API Gateway hashes the body it received: a declared hash must be that one.
        Some(declared) if declared != body_hash => {
            return Err((
                mismatch(),
                "x-amz-content-sha256 differs from the body".into(),
            ))
        }
        _ => body_hash.as_str(),
    };
    let Some(canonical) = canonical_request(&CanonicalInput {
        method: req.method,
        raw_path: req.raw_path,
        raw_query: req.query,
        skip_query_param: presigned_form.then_some(sigv4_query::SIGNATURE_PARAM),
        headers: req.headers,
        signed_headers: auth.signed_headers,
        payload_hash,
    }) else {
        return Err((mismatch(), "a signed header is absent".into()));
    };
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.scope_date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac(
        format!("AWS4{}", credential.secret).as_bytes(),
        auth.scope_date,
    );
    for part in [auth.region, auth.service, "aws4_request"] {
        key = hmac(&key, part);
    }
    let expected = hex(&hmac(&key, &string_to_sign));
    if !bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        return Err((mismatch(), "signature mismatch".into()));
    }
    if !credential
        .routes
        .iter()
        .any(|p| glob_matches(p, req.route_key))
    {
        return Err((
            GatewayError::IamDenied(
                format!(
                    "User: {} is not authorized to perform: execute-api:Invoke on resource: {method_arn}",
                    credential.principal
                )
                .into(),
            ),
            format!("{} may not call {}", credential.principal, req.route_key),
        ));
    }
    Ok(IamIdentity {
        access_key: auth.access_key.to_owned(),
        account_id: account_of(&credential.principal).to_owned(),
        caller: credential.user_id.clone(),
        user_arn: credential.principal.clone(),
    })
}

fn mismatch() -> GatewayError {
    GatewayError::InvalidSignature(Arc::from(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    ))
}

/// The account id field of an ARN (`arn:aws:iam::123456789012:user/x`).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}
