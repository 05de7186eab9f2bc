//! The reservation service of the roaming system (core domain): customers reserve a roaming
//! device for a trip and pay synchronously; they cancel (a saga through the booth and payment)
//! or return the device at the booth.
//!
//! Layout (hexagonal): [`domain`] is pure; [`ports`] are the traits the application needs;
//! [`app`] holds the use cases and policies; [`adapters`] connect HTTP, events, SQL and payment.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "reservation",
    build: |layers| Box::pin(async move { build(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use adapters::outbound::clock::SystemClock;
use app::{ReservationPolicy, ReservationService};
use kernel::remote::{RemoteClient, RemoteSettings};
use kernel::{Application, Service, ServiceSettings};
use payment_contracts::client::HttpPayments;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The service's name: outbox source, consumer group, log field.
pub const NAME: &str = "roaming/reservation";

/// How often and after how long pending payments are reconciled.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileSettings {
    /// A reservation pending payment this long (ms) is reconciled.
    pub after_ms: u64,
    /// How often the reconciler looks, in milliseconds.
    pub every_ms: u64,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            after_ms: 10_000,
            every_ms: 2_000,
        }
    }
}

/// The reservation service's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// The payment service.
    #[serde(default)]
    pub payment: RemoteSettings,
    /// The payment reconciler.
    #[serde(default)]
    pub reconcile: ReconcileSettings,
}

/// Builds the service on the store its URL names (SQLite, PostgreSQL or MariaDB).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let (service, storage) = Service::open(NAME, settings.service.clone()).await?;
    let payments = RemoteClient::new("payment", &settings.payment, service.metrics())?;
    let breaker = payments.breaker();
    let payments = HttpPayments(payments);
    let app = Arc::new(ReservationService::new(
        storage.repository(),
        Arc::new(payments),
        Arc::new(SystemClock),
        ReservationPolicy {
            reconcile_after: Duration::from_millis(settings.reconcile.after_ms),
        },
    ));
    let reconciler = app.clone();
    let every = Duration::from_millis(settings.reconcile.every_ms);
    service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .breaker(breaker)
        .react(events::policies(app))
        .every(every, "reconciliation", move || {
            let reconciler = reconciler.clone();
            async move { reconciler.reconcile().await.map(|_| ()) }
        })
        .build()
        .await
}
