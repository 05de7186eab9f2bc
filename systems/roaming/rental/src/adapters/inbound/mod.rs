//! Inbound adapters: the booth REST API and the booth's policies.

pub mod events;
pub mod grpc;
pub mod http;
