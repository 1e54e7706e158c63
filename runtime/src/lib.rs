//! Portico's runtime: every mechanism of the stack, and no user code.
//!
//! Build a [`Stack`] from a [`config::Config`] and an [`invoke::Registry`] of handlers, then
//! [`serve`] it on a listener.

pub mod admin;
pub mod auth;
pub mod aws;
pub mod cache;
pub mod clock;
pub mod config;
pub mod gateway;
pub mod invoke;
pub mod lifecycle;
pub mod net;
pub mod observe;
pub mod openapi;
mod stack;
pub mod store;
pub mod traffic;
pub mod vtl;
pub mod workflow;

pub use clock::Clock;
pub use config::Config;
pub use invoke::{Context, FunctionError, Handler, Registry};
pub use stack::{serve, Stack, StackBuilder, StartError};

/// Re-exported so user crates register `lambda_runtime`-style handlers without naming it.
pub use lambda_runtime::{Diagnostic, LambdaEvent};

/// Re-exported so user crates implement [`Handler`] without naming `async-trait`.
pub use async_trait::async_trait;
