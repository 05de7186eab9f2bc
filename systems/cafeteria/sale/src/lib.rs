//! The sale service of the cafeteria system (supporting domain): each customer's monthly
//! cumulative amount (월별 누적 금액) and the sales page (세일즈페이지), counted from payment's
//! events exactly once; a refund lowers the month the payment was made in.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "sale",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi,
    rebuild: None,
};

use adapters::inbound::{events, http};
use app::SaleService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "cafeteria/sale";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(SaleService::new(storage.repository()));
    Ok(service
        .routes(http::routes(app.clone()))
        .react(events::policies(app)))
}
