//! The stock ledger and the deliveries on the in-memory store: given product events and rental
//! orders (through the policy table), when the team or rental acts, then the stock.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::delivery::DeliveryStatus;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use office_contracts as contract;
use std::sync::Arc;

async fn given_product(qty: u32) -> Arc<DeliveryService> {
    let storage = Storage::memory("office/delivery").await.unwrap();
    let app = Arc::new(DeliveryService::new(
        storage.repository(),
        storage.repository(),
    ));
    let registered = contract::ProductRegistered {
        product_id: "computer".into(),
        name: "computer".into(),
        daily_rate: 5_000,
        qty,
    };
    deliver_event(&app, &registered, "computer").await.unwrap();
    app
}

async fn deliver_event<E: IntegrationEvent>(
    app: &Arc<DeliveryService>,
    event: &E,
    subject: &str,
) -> Result<(), kernel::consumer::HandleError> {
    let envelope = Envelope::of("office/rental", event, subject);
    policies(app.clone()).handle(&envelope).await
}

async fn order(app: &Arc<DeliveryService>, rental: &str, qty: u32) {
    let ordered = contract::RentalOrdered {
        rental_id: rental.into(),
        customer_id: "kim".into(),
        product_id: "computer".into(),
        product_name: "computer".into(),
        qty,
        from: "2030-01-01".into(),
        to: "2030-01-02".into(),
        amount: 10_000,
    };
    // Delivered twice, as a redelivery would.
    let envelope = Envelope::of("office/rental", &ordered, rental);
    for _ in 0..2 {
        policies(app.clone()).handle(&envelope).await.unwrap();
    }
}

async fn left(app: &DeliveryService) -> i64 {
    app.stock().await.unwrap()[0].1
}

#[tokio::test]
async fn an_order_takes_its_stock_once_and_one_too_big_is_out_of_stock() {
    let app = given_product(9).await;
    order(&app, "r1", 3).await;
    assert_eq!(left(&app).await, 6);
    order(&app, "r2", 12).await;
    let r2 = app.deliveries().get("r2").await.unwrap().unwrap();
    assert_eq!(r2.status, DeliveryStatus::Canceled);
    assert_eq!(r2.cancel_reason, Some("out_of_stock"));
    assert_eq!(left(&app).await, 6);
}

#[tokio::test]
async fn racing_orders_for_the_last_units_never_oversell() {
    let app = given_product(5).await;
    let mut orders = tokio::task::JoinSet::new();
    for i in 0..8 {
        let app = app.clone();
        orders.spawn(async move { order(&app, &format!("r{i}"), 1).await });
    }
    while let Some(done) = orders.join_next().await {
        done.unwrap();
    }
    assert_eq!(left(&app).await, 0);
    let scheduled = app
        .deliveries()
        .queue(Some("Scheduled"), 0, 100)
        .await
        .unwrap();
    assert_eq!(scheduled.len(), 5);
}

#[tokio::test]
async fn a_cancel_restores_the_stock_once_and_one_before_the_order_leaves_a_tombstone() {
    let app = given_product(9).await;
    order(&app, "r1", 3).await;
    app.cancel("r1", "kim").await.unwrap();
    app.cancel("r1", "kim").await.unwrap();
    assert_eq!(left(&app).await, 9);
    app.cancel("early", "kim").await.unwrap();
    order(&app, "early", 4).await;
    assert_eq!(left(&app).await, 9);
}

#[tokio::test]
async fn a_delivered_rental_cannot_be_canceled_and_its_return_restores_the_stock() {
    let app = given_product(9).await;
    order(&app, "r1", 3).await;
    app.deliver("r1").await.unwrap();
    assert!(matches!(
        app.cancel("r1", "kim").await,
        Err(ChangeError::Rejected(DeliveryError::AlreadyDelivered))
    ));
    let returned = contract::ReturnRequested {
        rental_id: "r1".into(),
        customer_id: "kim".into(),
    };
    deliver_event(&app, &returned, "r1").await.unwrap();
    app.collect("r1").await.unwrap();
    assert_eq!(left(&app).await, 9);
}

#[tokio::test]
async fn an_order_for_a_product_not_heard_of_is_retried_not_canceled() {
    let app = given_product(9).await;
    let ordered = contract::RentalOrdered {
        rental_id: "r1".into(),
        customer_id: "kim".into(),
        product_id: "later".into(),
        product_name: "later".into(),
        qty: 1,
        from: "2030-01-01".into(),
        to: "2030-01-01".into(),
        amount: 1,
    };
    assert!(deliver_event(&app, &ordered, "r1").await.is_err());
    assert!(app.deliveries().get("r1").await.unwrap().is_none());
}
