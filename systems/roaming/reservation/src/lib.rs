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
use kernel::{Application, Service, ServiceSettings};
use payment_contracts::checkout::{Checkout, CheckoutSettings};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The service's name: outbox source, consumer group, log field.
pub const NAME: &str = "roaming/reservation";

/// The reservation service's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Payment and its reconciler.
    #[serde(flatten)]
    pub checkout: CheckoutSettings,
}

/// Builds the service on the store its URL names (SQLite, PostgreSQL or MariaDB).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let (service, storage) = Service::open(NAME, settings.service.clone()).await?;
    let (service, checkout) = Checkout::serve(service, storage.repository(), &settings.checkout)?;
    let app = Arc::new(ReservationService::new(
        checkout,
        Arc::new(SystemClock),
        ReservationPolicy {
            reconcile_after: Duration::from_millis(settings.checkout.reconcile.after_ms),
        },
    ));
    service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app))
        .build()
        .await
}
