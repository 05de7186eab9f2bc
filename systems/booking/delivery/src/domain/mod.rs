//! The delivery domain. Pure Rust.

pub mod delivery;
