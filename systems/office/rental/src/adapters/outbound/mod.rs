//! Outbound adapters: how the kernel stores rentals and the catalog replica, what they publish,
//! and delivery's cancel command over HTTP.

pub(crate) mod delivery;
pub(crate) mod stored;
