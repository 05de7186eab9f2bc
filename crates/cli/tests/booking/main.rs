//! Black-box tests of the booking system: real `msa` processes, real HTTP through the gateway, a
//! real bus, real stores, on the testkit's generic harness.

/// Runs a scenario `async fn name(profile: Profile)` against both profiles, as
/// `name::embedded` and `name::prod`.
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name(testkit::system::Profile::Embedded).await;
            }

            #[tokio::test]
            async fn prod() {
                super::$name(testkit::system::Profile::Prod).await;
            }
        }
    };
}

mod browser;
mod flows;
mod grpc;
mod isolation;
mod payment;
mod seats;
