//! Inbound adapters: the payment REST API and the refund policy.

pub(crate) mod events;
pub(crate) mod http;
