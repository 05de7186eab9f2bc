//! The gift domain: pure Rust.

pub(crate) mod gift;
