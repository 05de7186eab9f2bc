//! The payment service (a generic domain; it stands in for a third-party payment provider),
//! deployed into every system that takes money: takes card payments idempotently by order (the
//! caller's opaque reference), reports and voids them for the caller's reconciliation, and refunds
//! when a caller requests it. It serves the system its settings name (`bus.system`); its events
//! travel in that system's stream.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "payment",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::PaymentService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The payment service's settings.
pub type Settings = ServiceSettings;

/// Assembles the service on the store its URL names (SQLite, PostgreSQL or MariaDB).
pub async fn assemble(settings: Settings) -> anyhow::Result<Service> {
    let name = settings.qualified("payment")?;
    let (service, storage) = Service::open(&name, settings).await?;
    let app = Arc::new(PaymentService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
