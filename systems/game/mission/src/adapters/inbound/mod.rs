//! Inbound adapters: the players' REST API and the policy table.

pub mod events;
pub mod http;
