//! Adapters: REST, gRPC and the policy table in; the stored forms, integration events and the
//! delivery client out.

pub(crate) mod inbound;
pub(crate) mod outbound;
