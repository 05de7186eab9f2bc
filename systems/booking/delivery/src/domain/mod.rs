//! The delivery domain. Pure Rust.

pub(crate) mod delivery;
