//! Inbound adapters: REST for customers and booths, and the event policies.

pub mod events;
pub mod http;
