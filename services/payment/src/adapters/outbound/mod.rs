//! Outbound adapters: how the kernel stores a payment, and the mapping to integration events.

pub mod integration;
pub mod stored;
