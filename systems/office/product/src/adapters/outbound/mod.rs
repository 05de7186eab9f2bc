//! Outbound adapters: how the kernel stores a product and what it publishes.

pub(crate) mod stored;
