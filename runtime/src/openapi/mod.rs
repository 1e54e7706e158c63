//! OpenAPI 3 with API Gateway's extensions (`x-amazon-apigateway-integration`, the api key
//! source, request validators, authorizers): import a file into a gateway.toml API section,
//! and export an API the way API Gateway's own export does, so APIs round-trip with AWS.
//!
//! JSON only: YAML would need a YAML parser, and the maintained small ones are either
//! deprecated (`serde_yaml`) or heavy; convert YAML with any tool first.

pub mod arn;
pub mod export;
pub mod import;

pub use export::export;
pub use import::{import, ImportErrors};
