//! The delivery service of the office system (supporting domain): the stock ledger (재고수량),
//! kept from the product team's events and moved by its own deliveries; a rental order is
//! scheduled when the stock covers it and out of stock (재고부족) otherwise; the delivery team
//! delivers and collects; rental cancels synchronously through it (the stock comes back once).

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
pub const NAME: &str = "office/delivery";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(DeliveryService::new(
        storage.repository(),
        storage.repository(),
    ));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
