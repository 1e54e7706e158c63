//! The HTTP front door: routing, the request pipeline, events, responses, errors, serving.

pub mod admission;
pub mod caching;
mod custom_http;
pub mod custom_integration;
mod domain_routing;
pub mod error;
pub mod event_v1;
pub mod event_v2;
mod head_timeout;
pub mod http_proxy;
pub mod integration_response;
pub mod json_schema;
pub mod media_templates;
pub mod metrics;
pub mod mock;
pub mod parameter_mapping;
pub(crate) mod pipeline;
mod proxy_headers;
pub mod request;
pub mod response;
mod route_memo;
pub mod router;
pub mod server;
pub mod stage_logs;
pub mod tls;
mod upstream_conn;
mod upstream_pool;
mod upstream_wake;
pub mod validation;
mod workflow_integration;

pub use admission::TrafficState;
pub use error::GatewayError;
pub use router::Router;
