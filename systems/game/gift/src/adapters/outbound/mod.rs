//! Outbound adapters: how the kernel stores a hand-out, the stock it takes, what it publishes.

pub(crate) mod stored;
