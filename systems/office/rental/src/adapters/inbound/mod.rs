//! Inbound adapters: the customers' REST and gRPC APIs, the policy table.

pub mod events;
pub mod grpc;
pub mod http;
