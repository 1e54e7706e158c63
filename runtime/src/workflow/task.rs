//! Task resources and the trait through which the engine calls functions.

use async_trait::async_trait;
use serde_json::{json, Value};

/// A function failure as Step Functions sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The error name, e.g. the handler's `errorType`.
    pub error: String,
    /// The cause text, e.g. the handler's JSON error payload.
    pub cause: String,
}

/// Calls registered functions for Task states.
#[async_trait]
pub trait TaskInvoker: Send + Sync {
    /// Invoke a registered function by plain name with a JSON payload.
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure>;
    /// Invoke with the `X-Amzn-Trace-Id` the function's context gets (ignored by default).
    async fn invoke_traced(
        &self,
        function: &str,
        payload: Value,
        trace_header: Option<String>,
    ) -> Result<Value, TaskFailure> {
        let _ = trace_header;
        self.invoke(function, payload).await
    }
    /// Whether a function with this name is registered.
    fn exists(&self, function: &str) -> bool;
}

/// An invoker that knows no functions; every Task fails.
pub struct NoFunctions;

#[async_trait]
impl TaskInvoker for NoFunctions {
    async fn invoke(&self, function: &str, _payload: Value) -> Result<Value, TaskFailure> {
        Err(missing_function(function))
    }
    fn exists(&self, _function: &str) -> bool {
        false
    }
}

/// The failure for a function that does not exist, as Lambda reports it.
pub fn missing_function(function: &str) -> TaskFailure {
    TaskFailure {
        error: "Lambda.ResourceNotFoundException".into(),
        cause: format!(
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:{function} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)"
        ),
    }
}

/// A resolved Task `Resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A function called directly (plain name or Lambda function ARN); the result is the
    /// function's output.
    Function {
        /// The plain function name.
        name: String,
        /// A version or alias, if the ARN had one.
        qualifier: Option<String>,
    },
    /// `arn:aws:states:::lambda:invoke`: `FunctionName` + `Payload` parameters, result wrapped
    /// the way the optimized integration returns it.
    LambdaInvoke,
    /// Any other service integration (validated, but fails when run).
    Other(String),
}

impl Resource {
    /// Resolves a `Resource` string.
    pub fn parse(s: &str) -> Result<Resource, String> {
        if s.is_empty() {
            return Err("The field 'Resource' is required for a Task state".into());
        }
        if !s.starts_with("arn:") {
            return Ok(Resource::Function {
                name: s.to_string(),
                qualifier: None,
            });
        }
        if let Some(name) = function_from_arn(s) {
            return Ok(name);
        }
        if s == "arn:aws:states:::lambda:invoke" {
            return Ok(Resource::LambdaInvoke);
        }
        if s.starts_with("arn:aws:states:::") || s.starts_with("arn:aws:states:") {
            return Ok(Resource::Other(s.to_string()));
        }
        Err(format!("Invalid resource ARN: '{s}'"))
    }

    /// The function this resource names statically, if any.
    pub fn function(&self) -> Option<&str> {
        match self {
            Resource::Function { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Resolves a `FunctionName` (plain name, partial or full ARN) to a plain function name.
pub fn function_name(s: &str) -> String {
    match function_from_arn(s) {
        Some(Resource::Function { name, .. }) => name,
        _ => s.split(':').next().unwrap_or(s).to_string(),
    }
}

fn function_from_arn(s: &str) -> Option<Resource> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function" {
        return Some(Resource::Function {
            name: parts[6].to_string(),
            qualifier: parts.get(7).map(|q| q.to_string()),
        });
    }
    None
}

/// The result shape of `arn:aws:states:::lambda:invoke`.
pub fn lambda_invoke_result(payload: Value, request_id: &str) -> Value {
    let headers = json!({
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    });
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": headers.as_object().map(|h| h.iter().map(|(k, v)| (k.clone(), json!([v]))).collect::<serde_json::Map<_, _>>()),
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_resources() {
        assert_eq!(
            Resource::parse("arn:aws:lambda:us-east-1:123456789012:function:greet:prod").unwrap(),
            Resource::Function {
                name: "greet".into(),
                qualifier: Some("prod".into())
            }
        );
        assert_eq!(Resource::parse("greet").unwrap().function(), Some("greet"));
        assert_eq!(
            Resource::parse("arn:aws:states:::lambda:invoke").unwrap(),
            Resource::LambdaInvoke
        );
        assert!(Resource::parse("arn:nope").is_err());
        assert_eq!(function_name("arn:aws:lambda:us-east-1:1:function:f"), "f");
    }
}
