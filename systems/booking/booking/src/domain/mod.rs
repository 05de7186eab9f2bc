//! The booking domain: the catalog of musicals and the booking aggregate. Pure Rust.

pub(crate) mod booking;
pub(crate) mod catalog;
