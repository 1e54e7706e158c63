//! Portico's runtime: every mechanism of the stack, and no user code.

pub mod clock;
pub mod store;

pub use clock::Clock;
