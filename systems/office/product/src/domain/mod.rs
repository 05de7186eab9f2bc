//! The product team's domain: pure Rust.

pub(crate) mod product;
