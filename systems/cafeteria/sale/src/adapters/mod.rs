//! Adapters: REST and the policy table in, the stored form out.

pub mod inbound;
pub mod outbound;
