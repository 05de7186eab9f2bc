//! The wallet domain: pure Rust.

pub(crate) mod entry;
