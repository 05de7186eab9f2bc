//! Inbound adapters: REST and gRPC for customers, and the event policies.

pub(crate) mod events;
pub(crate) mod grpc;
pub(crate) mod http;
