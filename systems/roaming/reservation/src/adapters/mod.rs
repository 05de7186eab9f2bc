//! Adapters: the edges where HTTP, events, SQL and the payment API meet the application.

pub mod inbound;
pub mod outbound;
