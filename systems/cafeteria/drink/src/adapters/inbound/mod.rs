//! Inbound adapters: the barista's REST API and the policy table.

pub mod events;
pub mod http;
