//! Adapters: HTTP, events, SQLite.

pub(crate) mod inbound;
pub(crate) mod outbound;
