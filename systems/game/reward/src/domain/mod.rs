//! The reward domain: pure Rust.

pub mod reward;
