//! Outbound network helpers shared by the mechanisms that call other servers themselves.

pub mod http_client;
pub mod kept_connection;
