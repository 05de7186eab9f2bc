//! Outbound adapters: how the kernel stores an order.

pub(crate) mod stored;
