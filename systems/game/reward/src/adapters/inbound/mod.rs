//! Inbound adapters: the operators' REST API and the policy table.

pub mod events;
pub mod http;
