//! Inbound adapters: the sales REST API and the policy table.

pub mod events;
pub mod http;
