//! The mission domain: pure Rust.

pub mod mission;
