//! Outbound adapters: how the kernel stores a drink.

pub(crate) mod stored;
