//! Outbound adapters: how the kernel stores a reward and what it publishes.

pub(crate) mod stored;
