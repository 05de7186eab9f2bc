//! Outbound adapters: how the kernel stores deliveries and the stock ledger, and what they publish.

pub(crate) mod stored;
