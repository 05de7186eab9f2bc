//! Black-box tests of the roaming system: real `msa` processes, real HTTP through the gateway,
//! a real bus, SQLite files in a temporary directory.

/// Runs a scenario `async fn name(profile: Profile)` against both profiles, as
/// `name::embedded` and `name::prod`.
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name(crate::helpers::Profile::Embedded).await;
            }

            #[tokio::test]
            async fn prod() {
                super::$name(crate::helpers::Profile::Prod).await;
            }
        }
    };
}

mod browser;
mod edge;
mod faults;
mod flows;
mod grpc;
mod helpers;
mod input;
mod lifecycle;
mod scale;
mod stores;
mod up;
