//! The reward service of the game system (supporting domain): allocates (할당) the reward of every
//! achieved mission, once, and follows its life as the wallet issues (발급) and exchanges it;
//! operators list rewards by status.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "reward",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::RewardService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "game/reward";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(RewardService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
