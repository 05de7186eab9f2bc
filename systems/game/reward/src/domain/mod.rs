//! The reward domain: pure Rust.

pub(crate) mod reward;
