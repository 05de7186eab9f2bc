//! Outbound adapters: how the kernel stores a month's sales.

pub(crate) mod stored;
