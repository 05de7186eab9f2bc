//! The customer service of the roaming system: my page, a read model (CQRS) of every
//! reservation's reservation, payment and rental status, built only from events — no calls to
//! other services, no shared database.

pub mod adapters;
pub mod app;
pub mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "customer",
    build: |layers| Box::pin(async move { build(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: Some(|layers, live, progress| {
        Box::pin(async move { rebuild_from_start(layers.build()?, &live, progress).await })
    }),
};

use adapters::inbound::{events, http};
use app::MyPage;
use domain::view::ReservationView;
use kernel::{Application, Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/customer";

/// The customer service's settings.
pub type Settings = ServiceSettings;

/// Builds the service on its store (SQLite embedded, Redis in production; PostgreSQL and
/// MariaDB work too).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(MyPage::new(storage.repository().generational()));
    service
        .routes(http::routes(app.clone()))
        .react(events::policies(app))
        .build()
        .await
}

/// Rebuilds my page from the start of the stream into a fresh generation and switches readers
/// over in one step (see [`kernel::projection`]); `live` is the running customer service's base
/// URL. `progress` receives one line per step. Returns the new generation.
pub async fn rebuild_from_start(
    settings: Settings,
    live: &str,
    progress: impl Fn(String),
) -> anyhow::Result<String> {
    kernel::projection::rebuild_from_start::<ReservationView, _>(
        &settings,
        NAME,
        live,
        |views| events::policies(Arc::new(MyPage::new(views))),
        progress,
    )
    .await
}
