//! Inbound adapters: the customers' REST and gRPC APIs, the policy table.

pub(crate) mod events;
pub(crate) mod grpc;
pub(crate) mod http;
