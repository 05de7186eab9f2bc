//! Inbound adapters: the delivery team's REST API (and rental's cancel command), the policy table.

pub mod events;
pub mod http;
