//! The function runtime: handlers, their registry, instances and cold starts, concurrency,
//! invocations (synchronous and asynchronous), versions and aliases.

mod asynchronous;
pub(crate) mod build;
mod concurrency;
mod context;
mod error;
pub mod event_store;
mod external;
mod function;
mod handler;
mod instance;
mod payload;
mod pool;
mod qualifiers;
mod registry;
mod report;
mod settings;

pub use concurrency::{AccountConcurrency, Throttled, DEFAULT_ACCOUNT_CONCURRENCY};
pub use context::{Context, FunctionConfig};
pub use error::FunctionError;
pub use function::{function_arn, Function, Invocation, Outcome, ACCOUNT_ID, REGION};
pub use handler::Handler;
pub use instance::InitContext;
pub use payload::{Payload, ToJson, Typed};
pub use qualifiers::AliasRouting;
pub use registry::Registry;
pub use settings::{AsyncSettings, ColdStart, Destination, FunctionSettings};

pub(crate) use external::ExternalFactory;
pub(crate) use function::FunctionParts;

/// The request header that makes an invocation run on a new instance, for tests.
pub const COLD_START_HEADER: &str = "x-portico-cold-start";

/// Whether a request asks for a forced cold start (`X-Portico-Cold-Start: force`).
pub fn forces_cold_start(headers: &http::HeaderMap) -> bool {
    // A constant name: looking it up by `&str` parses the name on every request.
    const NAME: http::HeaderName = http::HeaderName::from_static(COLD_START_HEADER);
    headers
        .get(NAME)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"force"))
}

/// The function version a route target names: `name`, or `name:version` / `name:alias`.
///
/// An unqualified name is borrowed from the map: cloning the `Arc` would make every request
/// write the function's reference count, a cache line all worker threads share.
pub(crate) fn resolve_target<'a>(
    functions: &'a std::collections::HashMap<String, std::sync::Arc<Function>>,
    target: &str,
) -> Option<std::borrow::Cow<'a, std::sync::Arc<Function>>> {
    match target.split_once(':') {
        None => functions.get(target).map(std::borrow::Cow::Borrowed),
        Some((name, qualifier)) => functions
            .get(name)?
            .qualified(Some(qualifier))
            .map(std::borrow::Cow::Owned),
    }
}
