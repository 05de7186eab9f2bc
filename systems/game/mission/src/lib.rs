//! The mission service of the game system (core domain): players achieve missions of the board
//! (미션 달성), each once; the achievement is the correlation key of the whole reward chain and
//! records the reward allocated for it.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "mission",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::MissionService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "game/mission";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(MissionService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
