//! Outbound adapters: the view store.

pub mod sqlite;
