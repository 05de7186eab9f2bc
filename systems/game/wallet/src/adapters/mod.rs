//! Adapters: REST, gRPC and the policy table in; the stored form, integration events and the
//! gift client out.

pub mod inbound;
pub mod outbound;
