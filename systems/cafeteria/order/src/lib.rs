//! The order service of the cafeteria system (core domain): customers order drinks from the menu
//! and pay synchronously (payment's checkout); they cancel until the barista accepts the drink (a
//! saga: drink canceled, payment refunded; or the order restored when it came too late).

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "order",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use app::OrderService;
use kernel::Service;
use payment_contracts::checkout::{Checkout, PayingSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "cafeteria/order";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: PayingSettings) -> anyhow::Result<Service> {
    let (service, checkout) = Checkout::open(NAME, &settings).await?;
    let app = Arc::new(OrderService::new(checkout));
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
