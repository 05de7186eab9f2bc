//! Adapters: HTTP, events, the view store.

pub mod document;
pub mod inbound;
pub mod outbound;
