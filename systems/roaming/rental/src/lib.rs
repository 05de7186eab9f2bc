//! The rental service of the roaming system (supporting domain): the airport booth. It accepts a
//! rental for every paid reservation, hands out the device, decides cancel requests, notes
//! returns and collects devices. It keeps its data in its own SQLite file, so a booth works on
//! its own.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "rental",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, grpc, http};
use app::BoothService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/rental";

/// The rental service's settings.
pub type Settings = ServiceSettings;

/// Assembles the service on the store its URL names (a SQLite file by default, so that a booth
/// works on its own; PostgreSQL or MariaDB work too).
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(BoothService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .react(events::policies(app)))
}
