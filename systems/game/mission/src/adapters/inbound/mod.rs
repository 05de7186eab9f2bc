//! Inbound adapters: the players' REST API and the policy table.

pub(crate) mod events;
pub(crate) mod http;
