//! The payment service of the roaming system (generic domain; it would be a third-party payment
//! provider): takes card payments idempotently by reservation, reports and voids them for
//! reconciliation, and refunds when the booth cancels a rental.

pub mod adapters;
pub mod app;
pub mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "payment",
    build: |layers| Box::pin(async move { build(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::PaymentService;
use kernel::{Application, Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/payment";

/// The payment service's settings.
pub type Settings = ServiceSettings;

/// Builds the service on the store its URL names (SQLite, PostgreSQL or MariaDB).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(PaymentService::new(storage.repository()));
    service
        .routes(http::routes(app.clone()))
        .react(events::policies(app))
        .build()
        .await
}
