//! Outbound adapters: the view store (SQLite embedded, Redis in production).

pub mod redis;
pub mod sqlite;
