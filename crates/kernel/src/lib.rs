//! The msa kernel: what every service of every system runs on, and no domain code.
//!
//! - [`aggregate`]: aggregates kept with optimistic versioning, keys and counters, and
//!   [`policy`]: a service's reactions to events as one typed table; [`model`]: what a service
//!   is made of, as its assembly declares it (for the living documentation).
//! - [`envelope`]: the CloudEvents envelope and the contract trait.
//! - [`sql`]: stores, transactions with outbox and inbox, migrations.
//! - [`outbox`]: the relay from outbox to bus.
//! - [`bus`]: the `Bus` port with its `local` (SQLite) and `nats` (JetStream) adapters.
//! - [`consumer`]: consumer groups with leases, retries and dead letters.
//! - [`runtime`]: the service runtime (HTTP, health, metrics, admin, graceful shutdown).
//! - [`trace`]: spans of requests, calls, publishes and handling, exported over OTLP.
//! - [`http`], [`breaker`], [`config`], [`metrics`], [`context`], [`telemetry`], [`crash`].

#![warn(missing_docs)]

pub mod aggregate;
pub mod apidoc;
pub mod breaker;
pub mod bus;
pub mod clock;
pub mod config;
pub mod consumer;
pub mod context;
pub mod crash;
pub mod deadletter;
pub mod discovery;
pub mod envelope;
pub mod faults;
pub mod grpc;
pub mod health;
pub mod http;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod owned;
pub mod policy;
pub mod projection;
pub mod queue;
pub mod redis;
mod redis_documents;
pub mod remote;
pub mod runtime;
pub mod sql;
pub mod sqlite;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod trace;
pub mod view;

pub use aggregate::{Aggregate, Cause, ChangeError, Key, Repository};
pub use envelope::{Envelope, IntegrationEvent, NewEvent};
pub use policy::Policies;
pub use runtime::{Application, Service, ServiceDef, ServiceSettings};
