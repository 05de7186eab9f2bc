//! The wallet domain: pure Rust.

pub mod entry;
