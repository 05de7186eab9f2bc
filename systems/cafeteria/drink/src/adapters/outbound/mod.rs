//! Outbound adapters: how the kernel stores a drink.

pub mod stored;
