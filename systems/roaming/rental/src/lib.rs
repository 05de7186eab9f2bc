//! The rental service of the roaming system (supporting domain): the airport booth. It accepts a
//! rental for every paid reservation, hands out the device, decides cancel requests, notes
//! returns and collects devices. It keeps its data in its own SQLite file, so a booth works on
//! its own.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;

/// The OpenAPI description of the booth API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi()
}

use adapters::inbound::{events, grpc, http};
use adapters::outbound::sqlite::{MIGRATIONS, SqliteRentalStore};
use app::BoothService;
use kernel::consumer::Subscription;
use kernel::sql::{SqlStore, StoreKind, connect_sqlite};
use kernel::{Application, Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/rental";

/// The rental service's settings.
pub type Settings = ServiceSettings;

/// Builds the service on its SQLite file.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let url = settings.store.url.clone();
    anyhow::ensure!(
        StoreKind::of(&url)? == StoreKind::Sqlite,
        "the booth keeps its data in a SQLite file (sqlite://...), not {url}"
    );
    let store = SqlStore::new(connect_sqlite(&url).await?, NAME);
    store.migrate(NAME, MIGRATIONS).await?;
    let app = Arc::new(BoothService::new(Arc::new(SqliteRentalStore::new(
        store.clone(),
    ))));
    Service::new(NAME, settings)
        .routes(http::routes(app.clone()))
        .routes(grpc::routes(app.clone())?)
        .check(Arc::new(store.clone()))
        .relay(Arc::new(store.clone()))
        .consume(Subscription {
            group: NAME.to_owned(),
            types: events::subscribed_types(),
            handler: Arc::new(events::BoothPolicies(app)),
            dead_letters: Arc::new(store),
        })
        .build()
        .await
}
