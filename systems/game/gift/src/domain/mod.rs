//! The gift domain: pure Rust.

pub mod gift;
