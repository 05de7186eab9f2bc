//! The delivery use cases and policies on the in-memory store.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::delivery::DeliveryStatus;
use booking_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use std::sync::Arc;

fn started(id: &str) -> Envelope {
    let event = contract::BookingStarted {
        booking_id: id.into(),
        customer_id: "kim".into(),
        musical_id: "elisabeth".into(),
        musical_title: "엘리자벳".into(),
        performance_id: "elisabeth-2030-03-14".into(),
        starts_at: "2030-03-14T19:30:00+09:00".into(),
        grade: "R".into(),
        quantity: 2,
        amount: 280_000,
        delivery_address: "서울시 종로구 1".into(),
        phone: "010-1234-5678".into(),
    };
    Envelope::of("booking/booking", &event, id)
}

fn cancel_requested(id: &str) -> Envelope {
    let event = contract::CancelRequested {
        booking_id: id.into(),
        customer_id: "kim".into(),
    };
    Envelope::of("booking/booking", &event, id)
}

async fn given() -> (Arc<DeliveryService>, Storage) {
    let storage = Storage::memory("booking/delivery").await.unwrap();
    (
        Arc::new(DeliveryService::new(storage.repository())),
        storage,
    )
}

#[tokio::test]
async fn a_paid_booking_is_queued_once_and_shipped_then_a_cancel_voids_it() {
    let (app, storage) = given().await;
    let table = policies(app.clone());
    let event = started("b-1");
    table.handle(&event).await.unwrap();
    table.handle(&event).await.unwrap();
    let queued = app
        .store()
        .queue(Some(DeliveryStatus::Requested.as_str()), 0, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let shipped = app.ship("b-1", "CJ 대한통운").await.unwrap();
    assert_eq!(shipped.status, DeliveryStatus::Shipped);
    assert!(app.ship("b-1", "someone else").await.is_err());
    table.handle(&cancel_requested("b-1")).await.unwrap();
    let canceled = app.store().get("b-1").await.unwrap().unwrap();
    assert!(canceled.voided);
    assert!(matches!(
        app.ship("b-1", "CJ 대한통운").await,
        Err(ChangeError::Rejected(DeliveryError::Canceled))
    ));
    assert_eq!(
        testkit::published(&storage, "b-1").await,
        vec![
            contract::DeliveryRequested::TYPE,
            contract::DeliveryShipped::TYPE,
            contract::DeliveryCanceled::TYPE
        ]
    );
}

#[tokio::test]
async fn a_cancel_before_its_booking_started_arrived_is_retried_not_dropped() {
    let (app, _) = given().await;
    assert!(
        policies(app)
            .handle(&cancel_requested("b-2"))
            .await
            .is_err()
    );
}
