//! The integration URIs API Gateway uses for Lambda functions:
//! `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations`.

use crate::invoke::{function_arn, REGION};

/// The integration URI that invokes function `name`.
pub fn lambda_uri(name: &str) -> String {
    format!(
        "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{}/invocations",
        function_arn(name)
    )
}

/// The function name in an integration URI (any region, account, and an optional
/// `:alias` or `:version` suffix, which is kept), or `None` when it is not a Lambda URI.
pub fn function_of(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("arn:aws:apigateway:")?;
    let (_, rest) = rest.split_once(":lambda:path/2015-03-31/functions/")?;
    let function = rest.strip_suffix("/invocations")?;
    let parts: Vec<&str> = function.split(':').collect();
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] if !name.is_empty() => {
            Some((*name).to_owned())
        }
        ["arn", _, "lambda", _, _, "function", name, qualifier] if !name.is_empty() => {
            Some(format!("{name}:{qualifier}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        assert_eq!(function_of(&lambda_uri("hello")).as_deref(), Some("hello"));
        assert_eq!(
            function_of("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:orders:live/invocations").as_deref(),
            Some("orders:live")
        );
        assert_eq!(
            function_of("arn:aws:apigateway:us-east-1:s3:path/bucket"),
            None
        );
        assert_eq!(function_of("https://example.com"), None);
    }
}
