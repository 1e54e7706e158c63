//! Portico's runtime: every mechanism of the stack, and no user code.

pub mod aws;
pub mod clock;
pub mod workflow;

pub use clock::Clock;
