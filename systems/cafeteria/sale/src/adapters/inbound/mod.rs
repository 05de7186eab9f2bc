//! Inbound adapters: the sales REST API and the policy table.

pub(crate) mod events;
pub(crate) mod http;
