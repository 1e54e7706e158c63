//! The function runtime: handlers, their registry, and invocations.

mod context;
mod error;
mod function;
mod handler;
mod payload;
mod registry;
mod report;

pub use context::{Context, FunctionConfig};
pub use error::FunctionError;
pub use function::{
    function_arn, Function, FunctionSettings, Invocation, Outcome, ACCOUNT_ID, REGION,
};
pub use handler::Handler;
pub use payload::{Payload, ToJson, Typed};
pub use registry::Registry;
