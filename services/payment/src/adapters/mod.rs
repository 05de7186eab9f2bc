//! Adapters: HTTP, events, SQL.

pub(crate) mod inbound;
pub(crate) mod outbound;
