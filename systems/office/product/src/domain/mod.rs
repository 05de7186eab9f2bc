//! The product team's domain: pure Rust.

pub mod product;
