//! Inbound adapters: the payment REST API and the refund policy.

pub mod events;
pub mod http;
