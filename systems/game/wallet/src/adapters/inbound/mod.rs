//! Inbound adapters: the players' REST and gRPC APIs, the policy table.

pub mod events;
pub mod grpc;
pub mod http;
