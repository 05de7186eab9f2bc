//! The reservation service of the roaming system (core domain): customers reserve a roaming
//! device for a trip and pay synchronously; they cancel (a saga through the booth and payment)
//! or return the device at the booth.
//!
//! Layout (hexagonal): [`domain`] is pure; [`ports`] are the traits the application needs;
//! [`app`] holds the use cases and policies; [`adapters`] connect HTTP, events, SQL and payment.

mod adapters;
mod app;
mod domain;
mod ports;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "reservation",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use adapters::outbound::clock::SystemClock;
use app::ReservationService;
use kernel::Service;
use payment_contracts::checkout::{Checkout, PayingSettings};
use std::sync::Arc;

/// The service's name: outbox source, consumer group, log field.
pub const NAME: &str = "roaming/reservation";

/// Its settings: what every service has, payment and its reconciler.
pub type Settings = PayingSettings;

/// Assembles the service on the store its URL names (SQLite, PostgreSQL or MariaDB).
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let (service, checkout) = Checkout::open(NAME, &settings).await?;
    let app = Arc::new(ReservationService::new(checkout, Arc::new(SystemClock)));
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
