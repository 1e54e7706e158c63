//! `echo`: returns the exact event it received as its JSON body, for either payload format.

use async_trait::async_trait;
use portico_runtime::{Context, FunctionError, Handler};
use serde_json::{json, Value};

/// The echo handler.
pub struct Echo;

#[async_trait]
impl Handler for Echo {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let body = serde_json::to_string(&event)
            .map_err(|e| FunctionError::unhandled("EchoError", e.to_string()))?;
        Ok(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body,
        }))
    }
}
