//! Outbound adapters: the store and the mapping to integration events.

pub mod integration;
pub mod sqlite;
