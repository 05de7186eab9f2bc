//! Inbound adapters: the delivery team's REST API and the policy table.

pub mod events;
pub mod http;
