//! The payment domain: pure Rust, no I/O. [`payment::Payment`] is the aggregate; [`card`] holds
//! the card value object and the (test-mode) authorization rules.

pub(crate) mod card;
pub(crate) mod payment;
