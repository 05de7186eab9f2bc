//! Inbound adapters: the delivery team's REST API and the policy table.

pub(crate) mod events;
pub(crate) mod http;
