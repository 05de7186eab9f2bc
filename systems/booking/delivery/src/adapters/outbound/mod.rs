//! Outbound adapters: how the kernel keeps a delivery.

pub mod stored;
