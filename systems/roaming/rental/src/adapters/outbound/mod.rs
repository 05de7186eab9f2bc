//! Outbound adapters: how the kernel stores a rental, and the mapping to integration events.

pub(crate) mod integration;
pub(crate) mod stored;
