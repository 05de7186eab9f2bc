//! Adapters: the edges where HTTP, events, SQL and the payment API meet the application.

pub(crate) mod inbound;
pub(crate) mod outbound;
