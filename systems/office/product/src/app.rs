//! The product team's use cases: register, restock, the catalog.

use crate::domain::product::{Product, ProductError};
use kernel::aggregate::{ChangeError, Repository};
use kernel::clock;

/// Why a product command failed.
pub(crate) type CommandError = ChangeError<ProductError>;

/// Most products the catalog shows.
pub(crate) const CATALOG_LIMIT: u32 = 500;

/// The use cases.
#[derive(Debug)]
pub(crate) struct ProductService {
    store: Repository<Product>,
}

impl ProductService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Product>) -> Self {
        Self { store }
    }

    /// Registers a product (상품 등록).
    pub(crate) async fn register(
        &self,
        name: &str,
        daily_rate: i64,
        qty: Option<u32>,
    ) -> Result<Product, CommandError> {
        let id = uuid::Uuid::now_v7().to_string();
        let (product, events) = Product::register(id, name, daily_rate, qty, clock::now())
            .map_err(ChangeError::Rejected)?;
        self.store.create(&product, &events, None).await?;
        Ok(product)
    }

    /// Adds stock.
    pub(crate) async fn restock(&self, id: &str, quantity: u32) -> Result<Product, CommandError> {
        self.store.update(id, None, |p| p.restock(quantity)).await
    }

    /// The catalog, oldest first.
    pub(crate) async fn catalog(&self) -> anyhow::Result<Vec<Product>> {
        self.store.queue(None, 0, CATALOG_LIMIT).await
    }
}

#[cfg(test)]
mod tests;
