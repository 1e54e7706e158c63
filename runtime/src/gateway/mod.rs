//! The HTTP front door: routing, the request pipeline, events, responses, errors, serving.

pub mod admission;
pub mod caching;
mod domain_routing;
pub mod error;
pub mod event_v1;
pub mod event_v2;
pub mod http_proxy;
pub mod json_schema;
pub mod metrics;
pub mod mock;
pub(crate) mod pipeline;
pub mod request;
pub mod response;
pub mod router;
pub mod server;
pub mod stage_logs;
pub mod tls;
pub mod validation;
mod workflow_integration;

pub use admission::TrafficState;
pub use error::GatewayError;
pub use router::Router;
