//! The customer service of the roaming system: my page, a read model (CQRS) of every
//! reservation's reservation, payment and rental status, built only from events — no calls to
//! other services, no shared database.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;

/// The OpenAPI description of the my-page API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi()
}

use adapters::inbound::{events, http};
use adapters::outbound::sqlite::{MIGRATIONS, SqliteMyPageStore};
use app::MyPage;
use kernel::consumer::Subscription;
use kernel::sql::{SqlStore, StoreKind, connect_sqlite};
use kernel::{Application, Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/customer";

/// The customer service's settings.
pub type Settings = ServiceSettings;

/// Builds the service on its store.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let url = settings.store.url.clone();
    match StoreKind::of(&url)? {
        StoreKind::Sqlite => {
            let store = SqlStore::new(connect_sqlite(&url).await?, NAME);
            store.migrate(NAME, MIGRATIONS).await?;
            let app = Arc::new(MyPage::new(Arc::new(SqliteMyPageStore::new(store.clone()))));
            Service::new(NAME, settings)
                .routes(http::routes(app.clone()))
                .check(Arc::new(store.clone()))
                .consume(Subscription {
                    group: NAME.to_owned(),
                    types: events::subscribed_types(),
                    handler: Arc::new(events::Projection(app)),
                    dead_letters: Arc::new(store),
                })
                .build()
                .await
        }
        other => anyhow::bail!("my page cannot keep its views in {other:?} yet"),
    }
}
