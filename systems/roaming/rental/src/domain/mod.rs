//! The booth domain: pure Rust, no I/O. [`rental::Rental`] is the aggregate.

pub(crate) mod rental;
