//! Adapters: REST, gRPC and the policy table in; the stored forms, integration events and the
//! delivery client out.

pub mod inbound;
pub mod outbound;
