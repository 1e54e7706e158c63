//! The user's handler functions, one file each, and [`register_all`], which hands them to
//! the stack. Add a function: write `src/my_function.rs`, then register it below.

mod echo;
pub mod hello;

use portico_runtime::Registry;

/// Registers every function of this crate.
pub fn register_all(registry: &mut Registry) {
    registry.register_fn("hello", hello::handler);
    registry.register("echo", echo::Echo);
}
