//! Rental's domain: pure Rust.

pub mod catalog;
pub mod rental;
