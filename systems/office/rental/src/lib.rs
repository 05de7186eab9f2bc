//! The rental service of the office system (core domain): customers rent products (렌탈 주문) at
//! the rate of rental's own replica of the catalog; delivery schedules them or finds them out of
//! stock (the rental is canceled: the compensation); the customer cancels through delivery
//! synchronously (a rental whose delivery was not canceled is not canceled) and returns them.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it; `msa replay office/rental` rebuilds its catalog
/// replica from the start of the stream.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "rental",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: Some(|layers, live, progress| {
        Box::pin(async move {
            let settings: Settings = layers.build()?;
            let replica = |entries| {
                let table = kernel::Policies::new(Arc::new(Catalog(entries)));
                events::catalog_policies(table, Catalog::clone)
            };
            kernel::projection::rebuild_from_start(
                &settings.service,
                NAME,
                &live,
                replica,
                progress,
            )
            .await
        })
    }),
};

use adapters::inbound::{events, grpc, http};
use adapters::outbound::delivery::HttpDeliveries;
use app::{Catalog, RentalService};
use kernel::remote::RemoteSettings;
use kernel::{Service, ServiceSettings};
use serde::Deserialize;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "office/rental";

/// Its settings: what every service has, and where delivery is.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Delivery (its cancel command) and the breaker around it.
    #[serde(default)]
    pub delivery: RemoteSettings,
}

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings.service).await?;
    let (service, delivery) = service.remote("delivery", &settings.delivery)?;
    let app = Arc::new(RentalService::new(
        storage.repository(),
        storage.repository().generational(),
        Arc::new(HttpDeliveries(delivery)),
    ));
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
