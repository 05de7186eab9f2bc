//! Rental's domain: pure Rust.

pub(crate) mod catalog;
pub(crate) mod rental;
