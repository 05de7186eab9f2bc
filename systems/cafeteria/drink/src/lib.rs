//! The drink service of the cafeteria system (core domain): the barista's queue of paid orders'
//! drinks; accept (접수) and make (제조); a cancel is granted while the drink is queued and refused
//! once the barista has accepted it.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "drink",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::DrinkService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "cafeteria/drink";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(DrinkService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
