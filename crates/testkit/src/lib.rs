//! Test support shared by every crate's tests: bounded waiting ([`assert_eventually!`]), unique
//! names for databases, streams and directories, spawning services on port 0, and the bus
//! conformance suite every `Bus` adapter must pass.

// Test support: a failed unwrap here is a failed test, as in the tests themselves.
#![allow(clippy::unwrap_used)]

pub mod architecture;
pub mod browser;
pub mod conformance;
pub mod given;
pub mod grpc;
pub mod logscan;
pub mod names;
pub mod node;
pub mod otlp;
pub mod paying;
pub mod ports;
pub mod proxy;
pub mod servers;
pub mod spawn;
pub mod system;
pub mod wait;
pub mod webhook;

pub use given::published;
pub use names::{TempDir, unique_name};
pub use spawn::{SpawnedApp, spawn};
pub use wait::eventually;

/// The NATS server tests use: `MSA_TEST_NATS_URL`, default `nats://127.0.0.1:4222`.
pub fn nats_url() -> String {
    std::env::var("MSA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// Runs a scenario `async fn name(profile: Profile)` of a system's black-box tests against both
/// profiles, as `name::embedded` and `name::prod`.
#[macro_export]
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name($crate::system::Profile::Embedded).await;
            }

            #[tokio::test]
            async fn prod() {
                super::$name($crate::system::Profile::Prod).await;
            }
        }
    };
}

/// Asserts that a read model document's `timeline` holds every one of `steps` (`payment.approved`).
pub fn assert_timeline(view: &serde_json::Value, steps: &[&str]) {
    let seen: Vec<&str> = view["timeline"]
        .as_array()
        .map(|t| t.iter().filter_map(|s| s["step"].as_str()).collect())
        .unwrap_or_default();
    for step in steps {
        assert!(seen.contains(step), "the timeline lacks {step}: {seen:?}");
    }
}
