//! Adapters: REST and the policy table in, the stored forms and integration events out.

pub mod inbound;
pub mod outbound;
