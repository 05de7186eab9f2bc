//! Adapters: HTTP, events, SQLite.

pub mod inbound;
pub mod outbound;
