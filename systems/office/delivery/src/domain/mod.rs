//! The delivery team's domain: pure Rust.

pub mod delivery;
pub mod stock;
