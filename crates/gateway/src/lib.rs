//! The gateway: the single public entry point of a system. It routes `/api/...` by the system
//! manifest's prefixes to the services (round-robin over replicas, failing over when a replica
//! refuses the connection), carries the request id and trace context, and strips identity
//! headers clients might try to forge.

mod proxy;

use kernel::manifest::SystemManifest;
use kernel::{Application, Service, ServiceSettings};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The gateway's name.
pub const NAME: &str = "gateway";

/// The gateway's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has (the gateway uses the HTTP part).
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Base URLs per service name; several replicas are separated by commas.
    #[serde(default)]
    pub upstreams: BTreeMap<String, String>,
    /// Longest wait for a service's answer, in milliseconds.
    #[serde(default = "default_timeout")]
    pub upstream_timeout_ms: u64,
}

fn default_timeout() -> u64 {
    30_000
}

/// Builds the gateway for `manifest`'s system.
pub async fn build(settings: Settings, manifest: SystemManifest) -> anyhow::Result<Application> {
    let routes = proxy::routes(&settings, &manifest)?;
    Service::new(
        &format!("{}/{NAME}", manifest.name),
        settings.service.clone(),
    )
    .routes(routes)
    .build()
    .await
}
