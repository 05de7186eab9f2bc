//! Inbound adapters: the booth REST API and the booth's policies.

pub(crate) mod events;
pub(crate) mod grpc;
pub(crate) mod http;
