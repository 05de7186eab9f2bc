//! Outbound adapters: how the kernel stores an order.

pub mod stored;
