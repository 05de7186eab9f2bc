//! Inbound adapters: the REST and gRPC APIs and the policy table.

pub mod events;
pub mod grpc;
pub mod http;
