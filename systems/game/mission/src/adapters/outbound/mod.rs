//! Outbound adapters: how the kernel stores an achievement and what it publishes.

pub(crate) mod stored;
