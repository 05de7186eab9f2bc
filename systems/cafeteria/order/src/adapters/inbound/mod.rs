//! Inbound adapters: the REST and gRPC APIs and the policy table.

pub(crate) mod events;
pub(crate) mod grpc;
pub(crate) mod http;
