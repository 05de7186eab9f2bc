//! Inbound adapters: the product team's REST API.

pub(crate) mod http;
