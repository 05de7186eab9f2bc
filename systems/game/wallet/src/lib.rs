//! The wallet service of the game system (core domain): each allocated reward is issued (발급) to
//! the player's wallet as one entry, a voucher; the player exchanges it for a gift (상품 교환)
//! through gift synchronously: a gift not handed out leaves the entry issued.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "wallet",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use adapters::outbound::gift::HttpGifts;
use app::WalletService;
use kernel::remote::RemoteSettings;
use kernel::{Service, ServiceSettings};
use serde::Deserialize;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "game/wallet";

/// Its settings: what every service has, and where gift is.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Gift (its exchange command) and the breaker around it.
    #[serde(default)]
    pub gift: RemoteSettings,
}

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings.service).await?;
    let (service, gift) = service.remote("gift", &settings.gift)?;
    let app = Arc::new(WalletService::new(
        storage.repository(),
        Arc::new(HttpGifts(gift)),
    ));
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
