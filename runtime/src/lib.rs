//! Portico's runtime: every mechanism of the stack, and no user code.

pub mod cache;
pub mod clock;
pub mod store;
pub mod traffic;

pub use clock::Clock;
