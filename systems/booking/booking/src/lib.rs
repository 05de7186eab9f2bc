//! The booking service of the booking system (core domain): customers book seats of a musical's
//! performance and pay synchronously (payment's checkout); they cancel before the performance (a
//! saga: payment refunds, delivery cancels). Seats are counters that never oversell.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "booking",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use app::BookingService;
use kernel::Service;
use payment_contracts::checkout::{Checkout, PayingSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "booking/booking";

/// Its settings: what every service has, payment and its reconciler.
pub type Settings = PayingSettings;

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let (service, checkout) = Checkout::open(NAME, &settings).await?;
    let app = Arc::new(BookingService::new(checkout));
    app.open_seats().await?;
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
