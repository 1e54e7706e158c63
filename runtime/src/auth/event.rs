//! `requestContext.authorizer` of the proxy events, as API Gateway fills it.

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerIamDescription,
    ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayRequestIdentity,
};
use serde_json::Value;

use super::AuthContext;

/// Payload 2.0: `{"jwt": {"claims", "scopes"}}`, `{"iam": {...}}` or `{"lambda": context}`.
pub fn v2(auth: &AuthContext) -> ApiGatewayRequestAuthorizer {
    let mut out = ApiGatewayRequestAuthorizer::default();
    if let Some(signer) = &auth.iam {
        let mut iam = ApiGatewayRequestAuthorizerIamDescription::default();
        iam.access_key = Some(signer.access_key.clone());
        iam.account_id = Some(signer.account_id.clone());
        iam.caller_id = Some(signer.caller.clone());
        iam.user_arn = Some(signer.user_arn.clone());
        iam.user_id = Some(signer.caller.clone());
        out.iam = Some(iam);
        return out;
    }
    match &auth.jwt {
        Some(verified) => {
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            jwt.claims = verified.claims.clone();
            jwt.scopes = (!verified.scopes.is_empty()).then(|| verified.scopes.clone());
            out.jwt = Some(jwt);
        }
        None => out.fields = auth.context.clone().into_iter().collect(),
    }
    out
}

/// Payload 1.0: `{"claims": {...}}` (JWT / Cognito) or `{"principalId", ...context}`.
pub fn v1(auth: &AuthContext) -> ApiGatewayRequestAuthorizer {
    let mut out = ApiGatewayRequestAuthorizer::default();
    if auth.iam.is_some() {
        // IAM callers appear in `requestContext.identity` instead (see `v1_identity`).
        return out;
    }
    match &auth.jwt {
        Some(verified) => {
            let claims = verified
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            out.fields.insert("claims".into(), Value::Object(claims));
            if !verified.scopes.is_empty() {
                out.fields
                    .insert("scopes".into(), Value::from(verified.scopes.clone()));
            }
        }
        None => {
            out.fields = auth.context.clone().into_iter().collect();
            if let Some(p) = &auth.principal_id {
                out.fields
                    .insert("principalId".into(), Value::from(p.as_str()));
            }
        }
    }
    out
}

/// Payload 1.0, IAM authorizers: the signer goes in `requestContext.identity`.
pub fn v1_identity(auth: &AuthContext, identity: &mut ApiGatewayRequestIdentity) {
    if let Some(signer) = &auth.iam {
        identity.access_key = Some(signer.access_key.clone());
        identity.account_id = Some(signer.account_id.clone());
        identity.caller = Some(signer.caller.clone());
        identity.user = Some(signer.caller.clone());
        identity.user_arn = Some(signer.user_arn.clone());
    }
}
