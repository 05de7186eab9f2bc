//! The booking domain: the catalog of musicals and the booking aggregate. Pure Rust.

pub mod booking;
pub mod catalog;
