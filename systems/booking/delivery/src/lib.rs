//! The delivery service of the booking system (supporting domain): the delivery team's queue of
//! paper tickets for paid bookings; shipping; canceled with its booking (voided once shipped).

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "delivery",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::DeliveryService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "booking/delivery";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(DeliveryService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
