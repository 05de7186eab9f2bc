//! Inbound adapters: the delivery team's REST API (and rental's cancel command), the policy table.

pub(crate) mod events;
pub(crate) mod http;
