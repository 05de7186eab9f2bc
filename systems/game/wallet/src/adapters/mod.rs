//! Adapters: REST, gRPC and the policy table in; the stored form, integration events and the
//! gift client out.

pub(crate) mod inbound;
pub(crate) mod outbound;
