//! The gift service of the game system (generic domain, a goods provider): the gift catalog with
//! its stock; hands a gift out for a wallet entry of a high enough tier while stock remains, once
//! per entry (the stock taken in the same transaction as the hand-out and its event).

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "gift",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::http;
use app::GiftService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "game/gift";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(GiftService::new(storage.repository()));
    app.open_stock().await?;
    Ok(service.routes(http::routes(app)))
}
