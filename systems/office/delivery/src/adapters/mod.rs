//! Adapters: REST and the policy table in, the stored forms and integration events out.

pub(crate) mod inbound;
pub(crate) mod outbound;
