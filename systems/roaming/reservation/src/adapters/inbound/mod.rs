//! Inbound adapters: REST and gRPC for customers, and the event policies.

pub mod events;
pub mod grpc;
pub mod http;
