//! The payment service of the roaming system (generic domain; it would be a third-party payment
//! provider): takes card payments idempotently by reservation, reports and voids them for
//! reconciliation, and refunds when the booth cancels a rental.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;

/// The OpenAPI description of the payment API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi()
}

use adapters::inbound::http::Faults;
use adapters::inbound::{events, http};
use adapters::outbound::sql::{MIGRATIONS, SqlPaymentStore};
use app::PaymentService;
use kernel::consumer::Subscription;
use kernel::sql::{SqlStore, StoreKind, connect_mysql, connect_sqlite};
use kernel::{Application, Service, ServiceSettings};
use ports::PaymentStore;
use serde::Deserialize;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/payment";

/// The payment service's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Injected faults at start (`MSA__FAULTS__LATENCY_MS`, `MSA__FAULTS__ERROR_RATE`).
    #[serde(default)]
    pub faults: Faults,
}

/// Builds the service on the store its URL names (SQLite or MariaDB/MySQL).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let url = settings.service.store.url.clone();
    match StoreKind::of(&url)? {
        StoreKind::Sqlite => {
            let store = SqlStore::new(connect_sqlite(&url).await?, NAME);
            store.migrate(NAME, MIGRATIONS).await?;
            assemble(
                settings,
                Arc::new(SqlPaymentStore::new(store.clone())),
                store,
            )
            .await
        }
        StoreKind::MySql => {
            let store = SqlStore::new(connect_mysql(&url).await?, NAME);
            store.migrate(NAME, MIGRATIONS).await?;
            assemble(
                settings,
                Arc::new(SqlPaymentStore::new(store.clone())),
                store,
            )
            .await
        }
        other => anyhow::bail!("the payment service cannot keep its data in {other:?}"),
    }
}

async fn assemble<S>(
    settings: Settings,
    payments: Arc<dyn PaymentStore>,
    store: S,
) -> anyhow::Result<Application>
where
    S: kernel::outbox::OutboxSource
        + kernel::deadletter::DeadLetterStore
        + kernel::health::ReadinessCheck
        + Clone,
{
    let app = Arc::new(PaymentService::new(payments));
    Service::new(NAME, settings.service.clone())
        .routes(http::routes(app.clone(), settings.faults.clone()))
        .check(Arc::new(store.clone()))
        .relay(Arc::new(store.clone()))
        .consume(Subscription {
            group: NAME.to_owned(),
            types: events::subscribed_types(),
            handler: Arc::new(events::PaymentPolicies(app)),
            dead_letters: Arc::new(store),
        })
        .build()
        .await
}
