//! A replica's place in the registry (`kernel::discovery`) follows its readiness: it registers
//! once ready, withdraws after [`FAILURE_THRESHOLD`] failed checks in a row (a store or bus that
//! refuses; a check that only took too long decides nothing), registers again once ready, and
//! withdraws for good when it stops. Callers and the
//! gateway read the registry, so they balance over ready replicas only.

use super::admin::{AdminState, is_ready};
use crate::discovery::{Registration, Registry};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often readiness is looked at.
const PERIOD: Duration = Duration::from_secs(1);
/// Failed readiness checks in a row that withdraw a registered replica (as Kubernetes'
/// readiness probe's `failureThreshold`): one slow check on a loaded machine does not.
const FAILURE_THRESHOLD: u32 = 3;

/// What a replica registers.
pub(super) struct Entry {
    pub(super) registry: Registry,
    pub(super) service: String,
    pub(super) url: String,
}

/// Keeps `entry` registered while the service is ready, until `stop`.
pub(super) async fn while_ready(entry: Entry, admin: AdminState, stop: CancellationToken) {
    let mut registration: Option<Registration> = None;
    let mut failures = 0;
    loop {
        match is_ready(&admin).await {
            Some(true) => {
                failures = 0;
                if registration.is_none() {
                    match entry.registry.register(&entry.service, &entry.url) {
                        Ok(registered) => registration = Some(registered),
                        Err(error) => {
                            tracing::warn!(error = format!("{error:#}"), "cannot register");
                        }
                    }
                }
            }
            Some(false) => {
                failures += 1;
                if failures >= FAILURE_THRESHOLD && registration.take().is_some() {
                    tracing::warn!(service = %entry.service, "not ready: withdrawn from the registry");
                }
            }
            // A check that did not answer in time (a starved machine) decides nothing.
            None => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PERIOD) => {}
        }
    }
}
