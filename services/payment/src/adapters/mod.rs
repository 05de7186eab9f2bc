//! Adapters: HTTP, events, SQL.

pub mod inbound;
pub mod outbound;
