//! Outbound adapters: how the kernel keeps a delivery.

pub(crate) mod stored;
