//! Inbound adapters: the product team's REST API.

pub mod http;
