//! The product team's use cases on the in-memory store.

use super::*;
use kernel::IntegrationEvent as _;
use kernel::sql::Storage;
use office_contracts::{ProductRegistered, ProductRestocked};
use testkit::given::published;

async fn service() -> (ProductService, Storage) {
    let storage = Storage::memory("office/product").await.unwrap();
    (ProductService::new(storage.repository()), storage)
}

#[tokio::test]
async fn registering_and_restocking_publish_what_delivery_and_rental_need() {
    let (app, storage) = service().await;
    let product = app.register("computer", 5_000, Some(9)).await.unwrap();
    app.restock(&product.id, 3).await.unwrap();
    assert_eq!(
        published(&storage, &product.id).await,
        [ProductRegistered::TYPE, ProductRestocked::TYPE]
    );
    let catalog = app.catalog().await.unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].qty, 12);
}

#[tokio::test]
async fn restocking_an_unknown_product_is_not_found() {
    let (app, _) = service().await;
    assert!(matches!(
        app.restock("nope", 1).await,
        Err(ChangeError::NotFound { .. })
    ));
}
