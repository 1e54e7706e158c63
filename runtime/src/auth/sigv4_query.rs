//! Presigned requests: SigV4 carried in the query string (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//! `X-Amz-Signature`) instead of the `Authorization` header, as SDK presigners write it.

use super::sigv4_header::{incomplete, split_credential, AuthorizationHeader, ALGORITHM};
use crate::gateway::error::GatewayError;

/// The longest validity a presigned request may ask for: seven days, as SigV4 allows.
pub(super) const MAX_EXPIRES_SECS: i64 = 7 * 24 * 60 * 60;

/// The query parameter that carries the signature; it is left out of the canonical query.
pub(super) const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// The signing parameters of a presigned request, percent-decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct QueryAuth {
    pub credential: String,
    pub amz_date: String,
    pub signed_headers: String,
    pub signature: String,
    /// Seconds the signature stays valid from `amz_date`; without it the header form's
    /// five-minute window applies.
    pub expires: Option<i64>,
}

/// Whether the query carries SigV4 parameters (then it must carry all of them).
pub(super) fn is_presigned(raw_query: &str) -> bool {
    raw_query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("X-Amz-Algorithm"))
}

impl QueryAuth {
    /// The credential scope and signature in the header form's shape.
    pub fn parts(&self) -> Result<AuthorizationHeader<'_>, GatewayError> {
        let (access_key, scope_date, region, service) = split_credential(&self.credential)?;
        Ok(AuthorizationHeader {
            access_key,
            scope_date,
            region,
            service,
            signed_headers: &self.signed_headers,
            signature: &self.signature,
        })
    }
}

/// Reads the signing parameters from a query that [`is_presigned`].
pub(super) fn parse(raw_query: &str) -> Result<QueryAuth, GatewayError> {
    let mut algorithm = None;
    let mut credential = None;
    let mut amz_date = None;
    let mut expires = None;
    let mut signed_headers = None;
    let mut signature = None;
    for pair in raw_query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "X-Amz-Algorithm" => &mut algorithm,
            "X-Amz-Credential" => &mut credential,
            "X-Amz-Date" => &mut amz_date,
            "X-Amz-Expires" => &mut expires,
            "X-Amz-SignedHeaders" => &mut signed_headers,
            SIGNATURE_PARAM => &mut signature,
            _ => continue,
        };
        *slot = Some(
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    let (Some(algorithm), Some(credential), Some(amz_date), Some(signed_headers), Some(signature)) =
        (algorithm, credential, amz_date, signed_headers, signature)
    else {
        return Err(incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.".into(),
        ));
    };
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'.",
            algorithm.escape_default()
        )));
    }
    let expires = match expires {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if (1..=MAX_EXPIRES_SECS).contains(&secs) => Some(secs),
            _ => {
                return Err(GatewayError::InvalidSignature(
                    format!(
                        "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_EXPIRES_SECS}. Got '{}'.",
                        text.escape_default()
                    )
                    .into(),
                ))
            }
        },
    };
    Ok(QueryAuth {
        credential,
        amz_date,
        signed_headers,
        signature,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260102%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20260102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-amz-date&X-Amz-Signature=abc";

    #[test]
    fn reads_and_decodes_every_parameter() {
        assert!(is_presigned(FULL));
        assert!(!is_presigned("a=1&X-Amz-Algorithmx=1"));
        let parsed = parse(FULL).expect("parses");
        assert_eq!(
            parsed.credential,
            "AKID/20260102/us-east-1/execute-api/aws4_request"
        );
        assert_eq!(parsed.signed_headers, "host;x-amz-date");
        assert_eq!(parsed.expires, Some(60));
        assert_eq!(parsed.signature, "abc");
    }

    #[test]
    fn incomplete_or_out_of_range_parameters_are_refused() {
        let without_signature = FULL.replace("&X-Amz-Signature=abc", "");
        assert!(matches!(
            parse(&without_signature),
            Err(GatewayError::IncompleteSignature(_))
        ));
        for expires in ["0", "-5", "604801", "ten"] {
            let query = FULL.replace("X-Amz-Expires=60", &format!("X-Amz-Expires={expires}"));
            assert!(
                matches!(parse(&query), Err(GatewayError::InvalidSignature(_))),
                "{expires}"
            );
        }
        let other = FULL.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1");
        assert!(matches!(
            parse(&other),
            Err(GatewayError::IncompleteSignature(_))
        ));
    }
}
