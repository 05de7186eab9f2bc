//! Outbound adapters: how the kernel stores an entry and what it publishes, and gift's exchange
//! command over HTTP.

pub(crate) mod gift;
pub(crate) mod stored;
