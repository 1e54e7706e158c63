//! `requestContext.authorizer` of the proxy events, as API Gateway fills it.

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
};
use serde_json::Value;

use super::AuthContext;

/// Payload 2.0: `{"jwt": {"claims", "scopes"}}` or `{"lambda": context}`.
pub fn v2(auth: &AuthContext) -> ApiGatewayRequestAuthorizer {
    let mut out = ApiGatewayRequestAuthorizer::default();
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
