//! Adapters: REST in, the stored form and integration events out.

pub mod inbound;
pub mod outbound;
