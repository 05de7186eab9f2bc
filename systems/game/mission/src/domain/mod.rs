//! The mission domain: pure Rust.

pub(crate) mod mission;
