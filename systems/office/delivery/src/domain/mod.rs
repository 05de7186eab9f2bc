//! The delivery team's domain: pure Rust.

pub(crate) mod delivery;
pub(crate) mod stock;
