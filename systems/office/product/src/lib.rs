//! The product service of the office system (supporting domain): the product team registers
//! products (상품 등록) and restocks them; the catalog is public. Rental keeps a replica of it
//! and delivery the stock ledger, both from this service's events.

mod adapters;
mod app;
mod domain;

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "product",
    build: |layers| Box::pin(async move { assemble(layers.build()?).await }),
    openapi: adapters::inbound::http::openapi,
    rebuild: None,
};

use adapters::inbound::http;
use app::ProductService;
use kernel::{Service, ServiceSettings};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "office/product";

/// Assembles the service on the store its URL names.
pub async fn assemble(settings: ServiceSettings) -> anyhow::Result<Service> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let app = Arc::new(ProductService::new(storage.repository()));
    Ok(service.routes(http::routes(app)))
}
