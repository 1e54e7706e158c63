//! How an invocation fails, in the terms Lambda reports it.

use std::fmt;

/// A failed invocation, as Lambda reports it to callers (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// Lambda's `errorType`, e.g. the handler's error type name or `Sandbox.Timedout`.
    pub error_type: String,
    /// Lambda's `errorMessage`.
    pub error_message: String,
}

impl FunctionError {
    /// An error raised by the handler itself.
    pub fn unhandled(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            error_message: message.into(),
        }
    }

    /// The event could not be turned into the type the handler takes.
    pub(crate) fn bad_event(err: serde_json::Error) -> Self {
        FunctionError::unhandled(
            "Runtime.UnmarshalError",
            format!("Unable to unmarshal input: {err}"),
        )
    }

    /// The handler panicked.
    pub(crate) fn panicked(message: &str) -> Self {
        FunctionError::unhandled("Runtime.Panic", format!("Lambda panicked: {message}"))
    }

    /// The init code panicked.
    pub(crate) fn init_panicked(message: &str) -> Self {
        FunctionError::unhandled("Runtime.InitError", format!("Init panicked: {message}"))
    }

    /// The runtime process exited or crashed while serving the invocation.
    pub(crate) fn exited(detail: &str) -> Self {
        FunctionError::unhandled(
            "Runtime.ExitError",
            format!("RequestId: the runtime exited: {detail}"),
        )
    }

    /// Whether the instance that produced this error cannot serve again.
    pub(crate) fn is_fatal(&self) -> bool {
        self.error_type == "Runtime.ExitError"
    }

    /// The invocation ran past its timeout.
    pub(crate) fn timed_out(request_id: &str, seconds: f64) -> Self {
        FunctionError::unhandled(
            "Sandbox.Timedout",
            format!("RequestId: {request_id} Error: Task timed out after {seconds:.2} seconds"),
        )
    }

    /// The result could not be serialized.
    pub(crate) fn bad_result(err: serde_json::Error) -> Self {
        FunctionError::unhandled(
            "Runtime.MarshalError",
            format!("Unable to marshal response: {err}"),
        )
    }

    /// The JSON body Lambda returns for a failed invocation.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"errorMessage": self.error_message, "errorType": self.error_type})
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for FunctionError {}
