//! Test support shared by every crate's tests: bounded waiting ([`assert_eventually!`]), unique
//! names for databases, streams and directories, spawning services on port 0, and the bus
//! conformance suite every `Bus` adapter must pass.

pub mod architecture;
pub mod browser;
pub mod conformance;
pub mod given;
pub mod grpc;
pub mod names;
pub mod node;
pub mod ports;
pub mod proxy;
pub mod servers;
pub mod spawn;
pub mod system;
pub mod wait;

pub use given::published;
pub use names::{TempDir, unique_name};
pub use spawn::{SpawnedApp, spawn};
pub use wait::eventually;

/// The NATS server tests use: `MSA_TEST_NATS_URL`, default `nats://127.0.0.1:4222`.
pub fn nats_url() -> String {
    std::env::var("MSA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}
