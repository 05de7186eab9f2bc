//! Adapters: REST and the policy table in, the stored form out.

pub(crate) mod inbound;
pub(crate) mod outbound;
