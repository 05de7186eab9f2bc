//! Inbound adapters: the my-page API and the event projection.

pub mod events;
pub mod http;
