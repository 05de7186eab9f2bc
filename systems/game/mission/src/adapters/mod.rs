//! Adapters: REST and the policy table in, the stored form and integration events out.

pub mod inbound;
pub mod outbound;
