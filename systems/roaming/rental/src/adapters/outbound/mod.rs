//! Outbound adapters: how the kernel stores a rental, and the mapping to integration events.

pub mod integration;
pub mod stored;
